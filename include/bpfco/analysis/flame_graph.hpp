// Flame graphs rendered by bpfco itself: stacks merged into a tree, drawn as an SVG in the
// layout flamegraph.pl made familiar (root at the bottom, callees above, width = samples),
// openable in any browser with hover text. No external tool needed.
#pragma once

#include <bpfco/error.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bpfco {

/// Where a frame runs; it picks the frame's colour.
enum class frame_kind : std::uint8_t {
    process,  ///< the process (comm) a stack belongs to
    user,
    kernel,
};

/// One frame of a stack given to flame_graph::add.
struct flame_frame {
    std::string_view name;               ///< as drawn; copied by add()
    frame_kind kind = frame_kind::user;  ///< picks the colour
};

/// How flame_graph::svg draws.
struct flame_graph_options {
    std::string title = "Flame Graph";  ///< the line at the top
    std::string subtitle;        ///< a second line under the title, e.g. how samples were taken
    unsigned width = 1200;       ///< of the picture, in px
    unsigned frame_height = 16;  ///< in px
    /// Frames narrower than this (in px) are not drawn; the picture says how many were left out.
    double min_frame_width = 0.1;
};

/// Samples of stacks merged by common prefix, rendered as a flame graph.
/// Not thread-safe: one thread adds and renders (or synchronise externally).
class flame_graph {
public:
    flame_graph();

    /// Adds `count` samples of one stack, outermost frame first. Frames of equal name and kind
    /// under the same parent merge.
    void add(std::span<const flame_frame> root_first, std::uint64_t count);

    /// Adds folded stacks as flamegraph.pl reads them: one `outer;...;leaf COUNT` per line.
    /// A frame ending in `_[k]` is a kernel frame (the suffix is dropped), the first frame of a
    /// line is the process, the others are user frames. Empty lines are skipped.
    /// Fails on a line without a count, naming its line number; lines before it stay added.
    result<void> add_folded(std::string_view text);

    /// Samples added so far: the root frame's width.
    std::uint64_t total() const noexcept;

    /// The picture: a standalone SVG document. Each frame is a `<g class="f KIND">` (KIND:
    /// process, user or kernel) with a `<title>` (hover text: `name (N samples, P%)`), a
    /// rectangle and its name clipped to fit.
    std::string svg(const flame_graph_options& options = {}) const;

private:
    struct node {
        std::string name;
        frame_kind kind;
        std::uint64_t count = 0;
        std::vector<std::size_t> children;  // indices into nodes_, ordered by (name, kind)
    };
    std::size_t child(std::size_t parent, const flame_frame& f);

    std::vector<node> nodes_;  // [0] is the root, "all"
};

}  // namespace bpfco
