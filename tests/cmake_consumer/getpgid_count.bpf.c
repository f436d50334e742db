// The CMake consumer's own BPF program: counts getpgid calls made by the process in target_pid.
#include <bpfco/common.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);  // [0] = target pid, [1] = count
    __type(key, __u32);
    __type(value, __u64);
} state SEC(".maps");

__u64 calls = 0;  /* the same count as a global, read through the generated header */

SEC("tracepoint/syscalls/sys_enter_getpgid")
int on_getpgid(void *ctx)
{
    __u32 k = 0;
    __u64 *pid = bpf_map_lookup_elem(&state, &k);
    if (!pid || *pid != bpfco_current_pid())
        return 0;
    k = 1;
    __u64 *n = bpf_map_lookup_elem(&state, &k);
    if (n)
        __sync_fetch_and_add(n, 1);
    __sync_fetch_and_add(&calls, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
