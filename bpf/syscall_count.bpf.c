// Counts syscalls entered by one process (its pid in filter[0]); used by the loader tests.
#include <bpfco/common.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} filter SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int count_sys_enter(void *ctx)
{
    __u32 zero = 0;
    __u32 *pid = bpf_map_lookup_elem(&filter, &zero);
    if (!pid || *pid != bpfco_current_pid())
        return 0;
    __u64 *n = bpf_map_lookup_elem(&counts, &zero);
    if (n)
        __sync_fetch_and_add(n, 1);
    return 0;
}

SEC("raw_tracepoint/sys_enter")
int count_raw_sys_enter(void *ctx)
{
    return count_sys_enter(ctx);
}

char LICENSE[] SEC("license") = "GPL";
