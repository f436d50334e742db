// How the library makes bpfco::link (not public: users get links from program's attach calls).
#pragma once

#include <bpfco/attach/link.hpp>
#include <bpfco/kinds.hpp>
#include <bpfco/loader/program.hpp>
#include <bpfco/unique_fd.hpp>

#include <cstdint>
#include <vector>

struct bpf_link;

namespace bpfco::detail {

struct link_access {
    /// A libbpf link (kprobes, tracepoints, ...); empty for null.
    static link from_libbpf(bpf_link* l);
    /// A link over a perf event; libbpf closes perf_event_fd with the link.
    static link from_libbpf_perf(bpf_link* l, unique_fd perf_event_fd);
    /// A kernel link fd (BPF_LINK_CREATE: XDP with mode flags, tcx, cgroup); empty for no fd.
    static link from_fd(unique_fd fd);
    /// A TC filter: netlink has no link fd, so the link remembers what to delete, and the calling
    /// thread's network namespace, so that it detaches there even when destroyed elsewhere (this
    /// keeps that namespace alive while the link lives).
    static link from_tc_filter(int ifindex, tc_direction direction, std::uint32_t handle, std::uint32_t priority);
    /// An attachment made with bpf_prog_attach, which has no link fd (sk_msg/sk_skb on a sockmap
    /// fd): detached with bpf_prog_detach2(prog, target, type). Empty when either fd is.
    static link from_prog_attach(unique_fd target, unique_fd prog, attach_type type);
    /// Several links as one (a program on a perf event's every CPU): detaches them all.
    static link from_group(std::vector<link> links);
    /// A socket with a program attached through SO_ATTACH_BPF: detached with SO_DETACH_BPF.
    /// Empty for no socket.
    static link from_socket_filter(unique_fd socket);
};

}  // namespace bpfco::detail
