#include <bpfco/link.hpp>

#include "hints.hpp"
#include "libbpf_log.hpp"
#include "mounts.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace bpfco {

link link::tc_filter(int ifindex, bool ingress, std::uint32_t handle, std::uint32_t priority) {
    link l;
    l.tc_ = {ifindex, ingress, handle, priority};
    l.tc_netns_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    return l;
}

namespace {
bool same_file(int a, int b) {
    struct stat sa {}, sb {};
    return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
}  // namespace

link::link(link&& o) noexcept
    : lib_(std::exchange(o.lib_, nullptr)), fd_(std::move(o.fd_)), tc_(std::exchange(o.tc_, {})),
      tc_netns_(std::move(o.tc_netns_)), perf_fd_(std::exchange(o.perf_fd_, -1)),
      pinned_(std::exchange(o.pinned_, false)) {}

link& link::operator=(link&& o) noexcept {
    if (this != &o) {
        detach();
        lib_ = std::exchange(o.lib_, nullptr);
        fd_ = std::move(o.fd_);
        tc_ = std::exchange(o.tc_, {});
        tc_netns_ = std::move(o.tc_netns_);
        perf_fd_ = std::exchange(o.perf_fd_, -1);
        pinned_ = std::exchange(o.pinned_, false);
    }
    return *this;
}

link::operator bool() const noexcept { return lib_ != nullptr || bool(fd_) || tc_.ifindex != 0; }

int link::fd() const noexcept { return lib_ ? bpf_link__fd(lib_) : fd_.get(); }

result<void> link::pin(const std::string& path) {
    if (!*this)  // an empty link (loader branch: issue 12's guard)
        return failure(EBADF, fmt::format("link: pin at '{}': {} (the link is empty: default-constructed, "
                                          "moved-from or detached)",
                                          path, detail::errno_text(EBADF)));
    if (fd() < 0) return failure(EOPNOTSUPP, "link: TC filters have no link fd to pin");
    if (!detail::ensure_bpffs()) return failure(errno, "link: bpffs is not mounted at /sys/fs/bpf");
    if (bpf_obj_pin(fd(), path.c_str()) != 0) {
        int e = errno;
        return failure(e, fmt::format("link: pin at '{}': {}{}", path, std::strerror(e), privilege_hint(e)));
    }
    // As map::pin: only the owner may open the pin (a link fd detaches whatever it holds).
    ::chmod(path.c_str(), 0600);
    pinned_ = true;
    return boost::outcome_v2::success();
}

void link::detach() noexcept {
    if (lib_ && pinned_ && perf_fd_ >= 0) {
        // libbpf's detach of a perf link disables the perf event (PERF_EVENT_IOC_DISABLE), which
        // stops a pinned sampling program for good. The pin holds the event: only close our fds.
        int link_fd = bpf_link__fd(lib_);
        bpf_link__disconnect(lib_);
        if (link_fd >= 0 && link_fd != perf_fd_) ::close(link_fd);
        ::close(perf_fd_);
    }
    if (lib_) bpf_link__destroy(std::exchange(lib_, nullptr));
    perf_fd_ = -1;
    pinned_ = false;
    fd_.reset();
    if (tc_.ifindex != 0) {
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tc_.ifindex,
                    .attach_point = tc_.ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
        LIBBPF_OPTS(bpf_tc_opts, opts, .handle = tc_.handle, .priority = tc_.priority);
        // An ifindex means something only in its network namespace: switch to the one the filter
        // was attached in, or leave the filter alone rather than delete another interface's.
        unique_fd here(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        bool switched = false, usable = true;
        if (tc_netns_ && here && !same_file(tc_netns_.get(), here.get())) {
            switched = ::setns(tc_netns_.get(), CLONE_NEWNET) == 0;
            usable = switched;
        }
        if (usable) {
            // The interface may be gone already, which removed the filter with it.
            detail::libbpf_capture quiet;
            bpf_tc_detach(&hook, &opts);
        }
        if (switched) ::setns(here.get(), CLONE_NEWNET);
        tc_ = {};
        tc_netns_.reset();
    }
}

}  // namespace bpfco
