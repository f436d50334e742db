// The kernel's kinds of program, attach point, link and map, as enum classes with the kernel's
// numbers (so a value converts to and from the uapi enum with a static_cast), and an
// fmt::formatter for each that prints the kernel's name ("hash", "xdp", "cgroup_inet_ingress").
// Formatting never fails (a value this list does not name prints as its number) and is safe from
// any thread.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

namespace bpfco {

/// A program type, as the kernel numbers it (enum bpf_prog_type): `program_type::xdp` is BPF_PROG_TYPE_XDP.
/// Values this list does not name (newer kernels) are still valid. `fmt::format("{}", t)` prints the
/// kernel's name ("xdp", "hash"), or the number for a value the list does not name.
enum class program_type : std::uint32_t {
    unspec = 0,
    socket_filter = 1,
    kprobe = 2,
    sched_cls = 3,
    sched_act = 4,
    tracepoint = 5,
    xdp = 6,
    perf_event = 7,
    cgroup_skb = 8,
    cgroup_sock = 9,
    lwt_in = 10,
    lwt_out = 11,
    lwt_xmit = 12,
    sock_ops = 13,
    sk_skb = 14,
    cgroup_device = 15,
    sk_msg = 16,
    raw_tracepoint = 17,
    cgroup_sock_addr = 18,
    lwt_seg6local = 19,
    lirc_mode2 = 20,
    sk_reuseport = 21,
    flow_dissector = 22,
    cgroup_sysctl = 23,
    raw_tracepoint_writable = 24,
    cgroup_sockopt = 25,
    tracing = 26,
    struct_ops = 27,
    ext = 28,
    lsm = 29,
    sk_lookup = 30,
    syscall = 31,
    netfilter = 32,
};

/// An attach type, as the kernel numbers it (enum bpf_attach_type): `attach_type::cgroup_inet_ingress` is
/// BPF_CGROUP_INET_INGRESS.
/// Values this list does not name (newer kernels) are still valid. `fmt::format("{}", t)` prints the
/// kernel's name ("xdp", "hash"), or the number for a value the list does not name.
enum class attach_type : std::uint32_t {
    cgroup_inet_ingress = 0,
    cgroup_inet_egress = 1,
    cgroup_inet_sock_create = 2,
    cgroup_sock_ops = 3,
    sk_skb_stream_parser = 4,
    sk_skb_stream_verdict = 5,
    cgroup_device = 6,
    sk_msg_verdict = 7,
    cgroup_inet4_bind = 8,
    cgroup_inet6_bind = 9,
    cgroup_inet4_connect = 10,
    cgroup_inet6_connect = 11,
    cgroup_inet4_post_bind = 12,
    cgroup_inet6_post_bind = 13,
    cgroup_udp4_sendmsg = 14,
    cgroup_udp6_sendmsg = 15,
    lirc_mode2 = 16,
    flow_dissector = 17,
    cgroup_sysctl = 18,
    cgroup_udp4_recvmsg = 19,
    cgroup_udp6_recvmsg = 20,
    cgroup_getsockopt = 21,
    cgroup_setsockopt = 22,
    trace_raw_tp = 23,
    trace_fentry = 24,
    trace_fexit = 25,
    modify_return = 26,
    lsm_mac = 27,
    trace_iter = 28,
    cgroup_inet4_getpeername = 29,
    cgroup_inet6_getpeername = 30,
    cgroup_inet4_getsockname = 31,
    cgroup_inet6_getsockname = 32,
    xdp_devmap = 33,
    cgroup_inet_sock_release = 34,
    xdp_cpumap = 35,
    sk_lookup = 36,
    xdp = 37,
    sk_skb_verdict = 38,
    sk_reuseport_select = 39,
    sk_reuseport_select_or_migrate = 40,
    perf_event = 41,
    trace_kprobe_multi = 42,
    lsm_cgroup = 43,
    struct_ops = 44,
    netfilter = 45,
    tcx_ingress = 46,
    tcx_egress = 47,
    trace_uprobe_multi = 48,
    cgroup_unix_connect = 49,
    cgroup_unix_sendmsg = 50,
    cgroup_unix_recvmsg = 51,
    cgroup_unix_getpeername = 52,
    cgroup_unix_getsockname = 53,
    netkit_primary = 54,
    netkit_peer = 55,
    trace_kprobe_session = 56,
};

/// A link type, as the kernel numbers it (enum bpf_link_type): `link_type::xdp` is BPF_LINK_TYPE_XDP.
/// Values this list does not name (newer kernels) are still valid. `fmt::format("{}", t)` prints the
/// kernel's name ("xdp", "hash"), or the number for a value the list does not name.
enum class link_type : std::uint32_t {
    unspec = 0,
    raw_tracepoint = 1,
    tracing = 2,
    cgroup = 3,
    iter = 4,
    netns = 5,
    xdp = 6,
    perf_event = 7,
    kprobe_multi = 8,
    struct_ops = 9,
    netfilter = 10,
    tcx = 11,
    uprobe_multi = 12,
    netkit = 13,
    sockmap = 14,
};

/// A map type, as the kernel numbers it (enum bpf_map_type): `map_type::hash` is BPF_MAP_TYPE_HASH.
/// Values this list does not name (newer kernels) are still valid. `fmt::format("{}", t)` prints the
/// kernel's name ("xdp", "hash"), or the number for a value the list does not name.
enum class map_type : std::uint32_t {
    unspec = 0,
    hash = 1,
    array = 2,
    prog_array = 3,
    perf_event_array = 4,
    percpu_hash = 5,
    percpu_array = 6,
    stack_trace = 7,
    cgroup_array = 8,
    lru_hash = 9,
    lru_percpu_hash = 10,
    lpm_trie = 11,
    array_of_maps = 12,
    hash_of_maps = 13,
    devmap = 14,
    sockmap = 15,
    cpumap = 16,
    xskmap = 17,
    sockhash = 18,
    cgroup_storage = 19,
    reuseport_sockarray = 20,
    percpu_cgroup_storage = 21,
    queue = 22,
    stack = 23,
    sk_storage = 24,
    devmap_hash = 25,
    struct_ops = 26,
    ringbuf = 27,
    inode_storage = 28,
    task_storage = 29,
    bloom_filter = 30,
    user_ringbuf = 31,
    cgrp_storage = 32,
    arena = 33,
};

namespace detail {
/// The kernel's name of a kind ("hash"), or "" for a value this list does not name.
std::string_view kind_name(program_type t) noexcept;
std::string_view kind_name(attach_type t) noexcept;
std::string_view kind_name(link_type t) noexcept;
std::string_view kind_name(map_type t) noexcept;

/// Formats a kind by its name, or "<what> <number>" for one this list does not name.
template <class Kind>
struct kind_formatter : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(Kind k, FormatContext& ctx) const {
        if (auto n = kind_name(k); !n.empty()) return fmt::formatter<std::string_view>::format(n, ctx);
        return fmt::format_to(ctx.out(), "{}", static_cast<std::uint32_t>(k));
    }
};
}  // namespace detail

}  // namespace bpfco

// Each kind formats with fmt by its kernel name. Hidden from the reference: Doxygen cannot place a
// specialization in fmt's namespace (the enums' own comments say how they print).
/// \cond
// `fmt::format("{}", bpfco::program_type::xdp)` is "xdp".
template <>
struct fmt::formatter<bpfco::program_type> : bpfco::detail::kind_formatter<bpfco::program_type> {};
// `fmt::format("{}", bpfco::attach_type::cgroup_inet_ingress)` is "cgroup_inet_ingress".
template <>
struct fmt::formatter<bpfco::attach_type> : bpfco::detail::kind_formatter<bpfco::attach_type> {};
// `fmt::format("{}", bpfco::link_type::xdp)` is "xdp".
template <>
struct fmt::formatter<bpfco::link_type> : bpfco::detail::kind_formatter<bpfco::link_type> {};
// `fmt::format("{}", bpfco::map_type::hash)` is "hash".
template <>
struct fmt::formatter<bpfco::map_type> : bpfco::detail::kind_formatter<bpfco::map_type> {};
/// \endcond
