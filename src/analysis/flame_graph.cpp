#include <bpfco/analysis/flame_graph.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <iterator>
#include <tuple>

#include <fmt/format.h>

namespace bpfco {

namespace {

constexpr double font_size = 12;
constexpr double char_width = 0.59 * font_size;  // Verdana's average advance, as flamegraph.pl assumes
constexpr double xpad = 10;

void append_escaped(std::string& out, std::string_view s) {
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out.push_back(c);
        }
    }
}

std::string escaped(std::string_view s) {
    std::string out;
    append_escaped(out, s);
    return out;
}

// The same name gets the same shade in every picture, so two profiles compare by eye.
std::uint32_t name_hash(std::string_view s) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
    return h;
}

// flamegraph.pl's palettes: warm for user code, aqua for the kernel, grey for processes.
std::string colour(frame_kind kind, std::string_view name) {
    const std::uint32_t h = name_hash(name);
    const double a = (h & 0xff) / 255.0, b = ((h >> 8) & 0xff) / 255.0, c = ((h >> 16) & 0xff) / 255.0;
    auto rgb = [](double r, double g, double bl) {
        return fmt::format("rgb({},{},{})", static_cast<int>(r), static_cast<int>(g), static_cast<int>(bl));
    };
    switch (kind) {
    case frame_kind::kernel: return rgb(50 + 60 * a, 165 + 55 * b, 165 + 55 * c);
    case frame_kind::user: return rgb(205 + 50 * a, 230 * b, 55 * c);
    case frame_kind::process: break;
    }
    const double grey = 180 + 40 * a;
    return rgb(grey, grey, grey);
}

std::string_view kind_name(frame_kind kind) {
    switch (kind) {
    case frame_kind::kernel: return "kernel";
    case frame_kind::user: return "user";
    case frame_kind::process: break;
    }
    return "process";
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Shows the hovered frame's title in the details line: a title tooltip alone appears late and
// not at all in some viewers.
constexpr std::string_view script = R"(<script type="text/ecmascript"><![CDATA[
document.addEventListener("mouseover", function (e) {
  var g = e.target.closest ? e.target.closest("g.f") : null;
  if (g) document.getElementById("details").textContent = g.querySelector("title").textContent;
});
document.addEventListener("mouseout", function () {
  document.getElementById("details").textContent = " ";
});
]]></script>
)";

}  // namespace

flame_graph::flame_graph() { nodes_.push_back(node{"all", frame_kind::process, 0, {}}); }

std::size_t flame_graph::child(std::size_t parent, const flame_frame& f) {
    auto& kids = nodes_[parent].children;
    auto it = std::lower_bound(kids.begin(), kids.end(), f, [this](std::size_t i, const flame_frame& x) {
        // Both sides as string_view tuples: clang 14 with libstdc++ 12 has no operator< between a
        // tuple of string& and one of string_view.
        return std::tuple<std::string_view, frame_kind>(nodes_[i].name, nodes_[i].kind) <
               std::tuple<std::string_view, frame_kind>(x.name, x.kind);
    });
    if (it != kids.end() && nodes_[*it].name == f.name && nodes_[*it].kind == f.kind) return *it;
    const std::size_t idx = nodes_.size();
    kids.insert(it, idx);  // before push_back: kids refers into nodes_
    nodes_.push_back(node{std::string(f.name), f.kind, 0, {}});
    return idx;
}

void flame_graph::add(std::span<const flame_frame> root_first, std::uint64_t count) {
    std::size_t idx = 0;
    nodes_[0].count += count;
    for (const auto& f : root_first) {
        idx = child(idx, f);
        nodes_[idx].count += count;
    }
}

result<void> flame_graph::add_folded(std::string_view text) {
    std::vector<flame_frame> stack;
    std::size_t line_no = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = trimmed(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        if (line.empty()) continue;
        const auto space = line.rfind(' ');
        std::uint64_t count = 0;
        const std::string_view number = space == std::string_view::npos ? line : line.substr(space + 1);
        const auto r = std::from_chars(number.data(), number.data() + number.size(), count);
        if (space == std::string_view::npos || r.ec != std::errc{} || r.ptr != number.data() + number.size())
            return failure(EINVAL, fmt::format("folded stacks, line {}: no sample count at the end of '{}'",
                                               line_no, line));
        stack.clear();
        std::string_view frames = line.substr(0, space);
        while (!frames.empty()) {
            const auto semi = frames.find(';');
            std::string_view name = frames.substr(0, semi);
            frames = semi == std::string_view::npos ? std::string_view{} : frames.substr(semi + 1);
            frame_kind kind = stack.empty() ? frame_kind::process : frame_kind::user;
            if (name.size() > 4 && name.ends_with("_[k]")) {
                name.remove_suffix(4);
                kind = frame_kind::kernel;
            }
            stack.push_back({name, kind});
        }
        add(stack, count);
    }
    return boost::outcome_v2::success();
}

std::uint64_t flame_graph::total() const noexcept { return nodes_[0].count; }

std::string flame_graph::svg(const flame_graph_options& o) const {
    const double width = std::max(o.width, 100u);
    const double frame_h = std::max(o.frame_height, 4u);
    const double usable = width - 2 * xpad;
    const std::uint64_t total = nodes_[0].count;
    const double scale = total ? usable / static_cast<double>(total) : 0;

    // Depth of what is drawn, and how many frames are too narrow to draw.
    std::size_t max_depth = 0, hidden = 0;
    auto measure = [&](auto& self, std::size_t idx, std::size_t depth) -> void {
        max_depth = std::max(max_depth, depth);
        for (std::size_t k : nodes_[idx].children) {
            if (static_cast<double>(nodes_[k].count) * scale < o.min_frame_width) {
                auto subtree = [&](auto& me, std::size_t i) -> std::size_t {
                    std::size_t n = 1;
                    for (std::size_t c : nodes_[i].children) n += me(me, c);
                    return n;
                };
                hidden += subtree(subtree, k);
            } else {
                self(self, k, depth + 1);
            }
        }
    };
    measure(measure, 0, 0);

    const double top = font_size * 3 + (o.subtitle.empty() ? 0 : font_size * 1.5) + font_size * 1.5;  // + legend
    const double bottom = font_size * 2 + 10;
    const double height = top + static_cast<double>(max_depth + 1) * frame_h + bottom;

    std::string out;
    auto w = std::back_inserter(out);
    fmt::format_to(w,
                   "<?xml version=\"1.0\" standalone=\"no\"?>\n"
                   "<svg version=\"1.1\" width=\"{0}\" height=\"{1:.0f}\" viewBox=\"0 0 {0} {1:.0f}\" "
                   "xmlns=\"http://www.w3.org/2000/svg\">\n"
                   "<style>text {{ font-family: Verdana, sans-serif; font-size: {2}px; fill: #000; }}\n"
                   ".title {{ font-size: 17px; text-anchor: middle; }} .sub {{ text-anchor: middle; fill: #555; }}\n"
                   "g.f:hover rect {{ stroke: #000; stroke-width: 0.5; }} g.f text {{ pointer-events: none; }}</style>\n"
                   "{3}"
                   "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#f8f8f0\"/>\n"
                   "<text class=\"title\" x=\"{4:.1f}\" y=\"{5:.1f}\">{6}</text>\n",
                   width, height, font_size, script, width / 2, font_size * 2, escaped(o.title));
    double y = font_size * 2;
    if (!o.subtitle.empty()) {
        y += font_size * 1.5;
        fmt::format_to(w, "<text class=\"sub\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", width / 2, y,
                       escaped(o.subtitle));
    }
    // Legend: which colour is which kind of frame.
    y += font_size * 1.5;
    double lx = xpad;
    for (auto kind : {frame_kind::user, frame_kind::kernel, frame_kind::process}) {
        const auto label = kind_name(kind);
        fmt::format_to(w,
                       "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
                       lx, y - font_size + 2, font_size, font_size, colour(kind, label), lx + font_size + 4, y,
                       label);
        lx += font_size + 4 + char_width * 8;
    }

    const double base = height - bottom;  // the root's bottom edge
    auto draw = [&](auto& self, std::size_t idx, std::size_t depth, std::uint64_t offset) -> void {
        const node& n = nodes_[idx];
        const double x = xpad + static_cast<double>(offset) * scale;
        const double fw = idx == 0 && total == 0 ? usable : static_cast<double>(n.count) * scale;
        const double fy = base - static_cast<double>(depth + 1) * frame_h;
        const double pct = total ? 100.0 * static_cast<double>(n.count) / static_cast<double>(total) : 0;
        fmt::format_to(w, "<g class=\"f {}\"><title>", kind_name(n.kind));
        append_escaped(out, n.name);
        fmt::format_to(w,
                       " ({} sample{}, {:.2f}%)</title><rect x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" "
                       "height=\"{:.1f}\" rx=\"2\" fill=\"{}\"/>",
                       n.count, n.count == 1 ? "" : "s", pct, x, fy, fw, frame_h - 1, colour(n.kind, n.name));
        // As much of the name as fits, ".." marking a cut; nothing under three characters.
        const auto fits = static_cast<std::size_t>(std::max(0.0, (fw - 6) / char_width));
        if (fits >= 3) {
            fmt::format_to(w, "<text x=\"{:.2f}\" y=\"{:.1f}\">", x + 3, fy + frame_h - 4);
            if (n.name.size() <= fits) {
                append_escaped(out, n.name);
            } else {
                append_escaped(out, std::string_view(n.name).substr(0, fits - 2));
                out += "..";
            }
            out += "</text>";
        }
        out += "</g>\n";
        std::uint64_t child_offset = offset;
        for (std::size_t k : n.children) {
            if (static_cast<double>(nodes_[k].count) * scale >= o.min_frame_width) self(self, k, depth + 1, child_offset);
            child_offset += nodes_[k].count;
        }
    };
    draw(draw, 0, 0, 0);

    fmt::format_to(w, "<text id=\"details\" x=\"{:.1f}\" y=\"{:.1f}\"> </text>\n", xpad, height - font_size);
    if (hidden)
        fmt::format_to(w, "<text x=\"{:.1f}\" y=\"{:.1f}\" style=\"text-anchor: end\">{} frame{} narrower than "
                          "{} px not drawn</text>\n",
                       width - xpad, height - font_size, hidden, hidden == 1 ? "" : "s", o.min_frame_width);
    out += "</svg>\n";
    return out;
}

}  // namespace bpfco
