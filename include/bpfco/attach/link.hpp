// An attachment of a program to a hook. Destroying the link detaches the program; the link holds
// a reference to the program, so it stays attached even after its object is closed.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/kinds.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace bpfco {

class program;

namespace detail {
struct link_kind;
struct link_access;  // how the library makes links (not installed)
struct link_kind_deleter {
    void operator()(link_kind* k) const noexcept;
};
}  // namespace detail

/// An attachment, made by program's attach calls or re-opened with from_pinned(). One of a few
/// kinds (a libbpf link, a kernel link fd, a netlink TC filter, a bpf_prog_attach attachment, a
/// socket filter), each detaching, pinning and updating its own way. A default-constructed or moved-from link is empty: it is false, fd() is -1, pin() and
/// update() fail with EBADF, detach() does nothing. Errors name the operation, the link's kind
/// and the path or program involved. Not synchronised: one thread uses a link at a time.
class link {
public:
    /// An empty link (false).
    link() = default;
    /// Re-opens a link pinned in bpffs; a pin of another kind (a map, a program) or another link
    /// type is an error naming the path and both. Dropping the re-opened link leaves the pinned
    /// attachment in place; unpin() then detaches it.
    static result<link> from_pinned(const std::string& path, link_type type);

    /// Takes `o`'s attachment; `o` is left empty.
    link(link&&) noexcept = default;
    /// Detaches this link's attachment, then takes `o`'s; `o` is left empty.
    link& operator=(link&&) noexcept = default;
    /// Detaches (unless pinned), as detach().
    ~link() = default;

    /// True while the link holds an attachment.
    explicit operator bool() const noexcept { return bool(kind_); }
    /// The kernel link fd (-1 for kinds that have none: TC filters, prog_attach, socket filters).
    int fd() const noexcept;
    /// Pins the link under bpffs (mode 0600) so it outlives this process; detach() then only drops
    /// our handle. Kinds without a link fd cannot be pinned (EOPNOTSUPP).
    result<void> pin(const std::string& path);
    /// Replaces the program behind the link in one step (BPF_LINK_UPDATE): the hook never runs
    /// without a program. Kinds without a link fd (netlink TC filters, prog_attach, socket
    /// filters) and links whose hook cannot swap programs (tracing, perf events) refuse with an
    /// error and stay attached as they were.
    result<void> update(const program& next);
    /// As update(next), only if `expected_old` is the program attached now: the kernel compares
    /// (BPF_F_REPLACE) and refuses with EPERM otherwise, so two updaters cannot race.
    result<void> update(const program& next, const program& expected_old);
    /// Detaches now (idempotent; destruction does the same).
    void detach() noexcept;

private:
    friend struct detail::link_access;
    explicit link(detail::link_kind* k) noexcept : kind_(k) {}
    std::unique_ptr<detail::link_kind, detail::link_kind_deleter> kind_;
};

}  // namespace bpfco
