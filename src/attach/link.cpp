#include <bpfco/attach/link.hpp>
#include <bpfco/loader/program.hpp>

#include "internal/bpf_fd_kind.hpp"
#include "internal/hints.hpp"
#include "internal/libbpf_log.hpp"
#include "internal/link_access.hpp"
#include "internal/mounts.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#ifndef SO_DETACH_BPF
#define SO_DETACH_BPF 27  // asm-generic/socket.h: SO_DETACH_FILTER, shared by classic and eBPF filters
#endif

namespace bpfco {

namespace detail {

// One kind of attachment. The destructor detaches; kinds with a kernel link fd share pin().
struct link_kind {
    virtual ~link_kind() = default;
    virtual int fd() const noexcept { return -1; }
    /// For errors: "TC filter", "socket filter", ...
    virtual const char* name() const noexcept = 0;
    virtual result<void> pin(const std::string& path) {
        int f = fd();
        if (f < 0) return failure(EOPNOTSUPP, fmt::format("link: pin at '{}': a {} has no link fd to pin", path, name()));
        if (!ensure_bpffs()) return failure(errno, "link: bpffs is not mounted at /sys/fs/bpf");
        if (bpf_obj_pin(f, path.c_str()) != 0) {
            int e = errno;
            return failure(e, fmt::format("link: pin at '{}': {}{}", path, std::strerror(e), privilege_hint(e)));
        }
        // As map::pin: only the owner may open the pin (a link fd detaches whatever it holds).
        ::chmod(path.c_str(), 0600);
        pinned();
        return boost::outcome_v2::success();
    }
    virtual void pinned() noexcept {}
    /// Swaps the program (old_prog_fd >= 0: only if that one is attached now).
    virtual result<void> update(const program& next, const program* old) {
        auto what = fmt::format("link: update to program '{}'{}", next.name(),
                                old ? fmt::format(" (expecting '{}' attached)", old->name()) : "");
        int f = fd();
        if (f < 0)
            return failure(EOPNOTSUPP, fmt::format("{}: a {} has no link fd and cannot swap its program in place; "
                                                   "attach the new program, then detach this one",
                                                   what, name()));
        LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = old ? BPF_F_REPLACE : 0u,
                    .old_prog_fd = old ? static_cast<std::uint32_t>(old->fd()) : 0u);
        if (bpf_link_update(f, next.fd(), &opts) == 0) return boost::outcome_v2::success();
        int e = errno;
        std::string_view why = e == EPERM && old ? " (another program is attached now)"
                               : e == EINVAL     ? " (the program does not fit this hook: another type or attach type)"
                               : e == EOPNOTSUPP ? " (this kind of link cannot swap programs)"
                                                 : "";
        return failure(e, fmt::format("{}: {}{}{}", what, std::strerror(e), why, privilege_hint(e)));
    }
};

void link_kind_deleter::operator()(link_kind* k) const noexcept { delete k; }

}  // namespace detail

namespace {

// A kernel link fd: closing it detaches, unless it is pinned.
struct fd_link final : detail::link_kind {
    unique_fd fd_;
    explicit fd_link(unique_fd f) : fd_(std::move(f)) {}
    int fd() const noexcept override { return fd_.get(); }
    const char* name() const noexcept override { return "kernel link"; }
};

// A libbpf link (kprobes, tracepoints, uprobes, ...): libbpf knows how to detach each.
struct libbpf_link final : detail::link_kind {
    bpf_link* l_;
    explicit libbpf_link(bpf_link* l) : l_(l) {}
    ~libbpf_link() override { bpf_link__destroy(l_); }
    int fd() const noexcept override { return bpf_link__fd(l_); }
    const char* name() const noexcept override { return "libbpf link"; }
};

// A libbpf link over a perf event (program::attach_perf_event). libbpf closes the event's fd with
// the link, and its detach disables the event (PERF_EVENT_IOC_DISABLE), which would stop a pinned
// sampling program for good: once pinned, the pin holds the event and we only close our fds.
struct perf_link final : detail::link_kind {
    bpf_link* l_;
    int event_fd_;
    bool pinned_ = false;
    perf_link(bpf_link* l, unique_fd e) : l_(l), event_fd_(e.release()) {}
    ~perf_link() override {
        if (pinned_) {
            int link_fd = bpf_link__fd(l_);
            bpf_link__disconnect(l_);
            if (link_fd >= 0 && link_fd != event_fd_) ::close(link_fd);
            ::close(event_fd_);
        }
        bpf_link__destroy(l_);
    }
    int fd() const noexcept override { return bpf_link__fd(l_); }
    const char* name() const noexcept override { return "perf event link"; }
    void pinned() noexcept override { pinned_ = true; }
};

bool same_file(int a, int b) {
    struct stat sa {}, sb {};
    return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// A netlink TC filter: no fd holds it, so detaching deletes what was attached.
struct tc_link final : detail::link_kind {
    int ifindex;
    tc_direction direction;
    std::uint32_t handle, priority;
    unique_fd netns{::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)};
    tc_link(int i, tc_direction d, std::uint32_t h, std::uint32_t p) : ifindex(i), direction(d), handle(h), priority(p) {}
    ~tc_link() override {
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                    .attach_point = direction == tc_direction::ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
        LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
        // An ifindex means something only in its network namespace: switch to the one the filter
        // was attached in, or leave the filter alone rather than delete another interface's.
        unique_fd here(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        bool switched = false, usable = true;
        if (netns && here && !same_file(netns.get(), here.get())) {
            switched = ::setns(netns.get(), CLONE_NEWNET) == 0;
            usable = switched;
        }
        if (usable) {
            // The interface may be gone already, which removed the filter with it.
            detail::libbpf_capture quiet;
            bpf_tc_detach(&hook, &opts);
        }
        if (switched) ::setns(here.get(), CLONE_NEWNET);
    }
    const char* name() const noexcept override { return "netlink TC filter"; }
};

struct prog_attach_link final : detail::link_kind {
    unique_fd target, prog;
    attach_type type;
    prog_attach_link(unique_fd t, unique_fd p, attach_type a) : target(std::move(t)), prog(std::move(p)), type(a) {}
    ~prog_attach_link() override {
        bpf_prog_detach2(prog.get(), target.get(), static_cast<bpf_attach_type>(type));
    }
    const char* name() const noexcept override { return "bpf_prog_attach attachment"; }
};

struct socket_filter_link final : detail::link_kind {
    unique_fd socket;
    explicit socket_filter_link(unique_fd s) : socket(std::move(s)) {}
    ~socket_filter_link() override {
        int dummy = 0;
        ::setsockopt(socket.get(), SOL_SOCKET, SO_DETACH_BPF, &dummy, sizeof dummy);
    }
    const char* name() const noexcept override { return "socket filter"; }
};

// Links made as one (program::attach_perf_event on every CPU): detached together, no fd of its own.
struct group_link final : detail::link_kind {
    std::vector<link> links;
    explicit group_link(std::vector<link> l) : links(std::move(l)) {}
    const char* name() const noexcept override { return "group of per-CPU perf event links"; }
};

}  // namespace

link detail::link_access::from_group(std::vector<link> links) { return link(new group_link(std::move(links))); }

link detail::link_access::from_fd(unique_fd fd) { return fd ? link(new fd_link(std::move(fd))) : link(); }

link detail::link_access::from_tc_filter(int ifindex, tc_direction direction, std::uint32_t handle,
                                         std::uint32_t priority) {
    return link(new tc_link(ifindex, direction, handle, priority));
}

link detail::link_access::from_prog_attach(unique_fd target, unique_fd prog, attach_type type) {
    if (!target || !prog) return link();
    return link(new prog_attach_link(std::move(target), std::move(prog), type));
}

link detail::link_access::from_socket_filter(unique_fd socket) {
    if (!socket) return link();
    return link(new socket_filter_link(std::move(socket)));
}

link detail::link_access::from_libbpf(bpf_link* l) { return l ? link(new libbpf_link(l)) : link(); }

link detail::link_access::from_libbpf_perf(bpf_link* l, unique_fd perf_event_fd) {
    return l ? link(new perf_link(l, std::move(perf_event_fd))) : link();
}

result<link> link::from_pinned(const std::string& path, link_type type) {
    detail::ensure_bpffs();
    unique_fd fd(bpf_obj_get(path.c_str()));
    if (!fd) {
        int e = errno;
        return failure(e, fmt::format("pinned link at '{}': {}{}", path, std::strerror(e), privilege_hint(e)));
    }
    if (auto kind = detail::bpf_fd_kind(fd.get()); kind != "link")
        return failure(EINVAL, fmt::format("pinned link at '{}': is a {}, not a link", path, kind));
    bpf_link_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
        int e = errno;
        return failure(e, fmt::format("pinned link at '{}': reading its info: {}", path, std::strerror(e)));
    }
    if (const auto have = static_cast<link_type>(info.type); have != type)
        return failure(EINVAL, fmt::format("pinned link at '{}': is a link of type {}, expected type {}", path, have,
                                           type));
    return detail::link_access::from_fd(std::move(fd));
}

result<void> link::update(const program& next) {
    if (!kind_) return failure(EBADF, "link: update: the link is empty (moved from or detached)");
    return kind_->update(next, nullptr);
}

result<void> link::update(const program& next, const program& expected_old) {
    if (!kind_) return failure(EBADF, "link: update: the link is empty (moved from or detached)");
    return kind_->update(next, &expected_old);
}

int link::fd() const noexcept { return kind_ ? kind_->fd() : -1; }

result<void> link::pin(const std::string& path) {
    if (!kind_) return failure(EBADF, fmt::format("link: pin at '{}': the link is empty (moved from or detached)", path));
    return kind_->pin(path);
}

void link::detach() noexcept { kind_.reset(); }

}  // namespace bpfco
