// An attachment of a program to a hook. Destroying the link detaches the program; the link holds
// a reference to the program, so it stays attached even after its object is closed.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/unique_fd.hpp>

#include <string>

struct bpf_link;

namespace bpfco {

class link {
public:
    link() = default;
    /// Takes a libbpf link (kprobes, tracepoints, uprobes, perf events, ...).
    explicit link(bpf_link* l) noexcept : lib_(l) {}
    /// Takes a kernel link fd (BPF_LINK_CREATE: XDP with mode flags, cgroup).
    explicit link(unique_fd fd) noexcept : fd_(std::move(fd)) {}
    /// A TC filter: netlink has no link fd, so the link remembers what to delete, and the calling
    /// thread's network namespace, so that it detaches there even when destroyed elsewhere (this
    /// keeps that namespace alive while the link lives).
    static link tc_filter(int ifindex, bool ingress, std::uint32_t handle, std::uint32_t priority);

    link(link&& o) noexcept;
    link& operator=(link&& o) noexcept;
    link(const link&) = delete;
    link& operator=(const link&) = delete;
    ~link() { detach(); }

    explicit operator bool() const noexcept;
    /// The kernel link fd (-1 for TC filters, which have none).
    int fd() const noexcept;
    /// Pins the link under bpffs (mode 0600) so it outlives this process; detach() then only drops
    /// our handle.
    result<void> pin(const std::string& path);
    /// Detaches now (idempotent; destruction does the same).
    void detach() noexcept;

private:
    struct tc_state {
        int ifindex = 0;
        bool ingress = true;
        std::uint32_t handle = 0;
        std::uint32_t priority = 0;
    };
    bpf_link* lib_ = nullptr;
    unique_fd fd_;
    tc_state tc_{};
    unique_fd tc_netns_;  // the network namespace the TC filter was attached in
    // A perf_event link (program::attach_perf_event): its perf event fd, not owned here (libbpf
    // closes it), so that a pinned link can be dropped without disabling the event.
    int perf_fd_ = -1;
    bool pinned_ = false;
    friend class program;
};

}  // namespace bpfco
