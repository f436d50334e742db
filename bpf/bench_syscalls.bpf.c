// Counts the syscalls one thread enters (its id in target[0]): the benches' consumer threads,
// so that a bench can print syscalls per wake-up for bpfco and libbpf alike.
#include <bpfco/common.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} target SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} syscalls SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int count_thread_syscalls(void *ctx)
{
    __u32 zero = 0;
    __u32 *tid = bpf_map_lookup_elem(&target, &zero);
    /* The low half of pid_tgid is the thread id. */
    if (!tid || *tid == 0 || *tid != (__u32)bpf_get_current_pid_tgid())
        return 0;
    __u64 *n = bpf_map_lookup_elem(&syscalls, &zero);
    if (n)
        __sync_fetch_and_add(n, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
