// Syscall latency: raw tracepoints on sys_enter/sys_exit time every syscall of one process (or
// all) into a log2 histogram of nanoseconds. Used by examples/latency and the analysis tests.
#include <bpfco/common.bpf.h>
#include <bpfco/histogram.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u64); /* pid_tgid: one syscall in flight per thread */
    __type(value, __u64);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, BPFCO_LOG2_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} latency_ns SEC(".maps");

/* Set before load: the pid to time; 0: every process. */
const volatile __u32 targ_pid = 0;

static __always_inline int wanted(__u64 pid_tgid)
{
    return targ_pid == 0 || targ_pid == (__u32)(pid_tgid >> 32);
}

SEC("raw_tracepoint/sys_enter")
int latency_enter(struct bpf_raw_tracepoint_args *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    if (!wanted(id))
        return 0;
    __u64 now = bpf_ktime_get_ns();
    bpf_map_update_elem(&start, &id, &now, BPF_ANY);
    return 0;
}

SEC("raw_tracepoint/sys_exit")
int latency_exit(struct bpf_raw_tracepoint_args *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u64 *t = bpf_map_lookup_elem(&start, &id);
    /* No start: the syscall began before we attached (or the map was full). */
    if (!t)
        return 0;
    __u64 delta = bpf_ktime_get_ns() - *t;
    bpf_map_delete_elem(&start, &id);
    bpfco_hist_log2_add(&latency_ns, delta, BPFCO_LOG2_SLOTS);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
