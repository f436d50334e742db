// A program the verifier must reject: it reads past the end of an 8-byte map value.
// test_errors loads it to check that the error names the program and quotes the verifier.
#include <bpfco/common.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} small SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int out_of_bounds_read(void *ctx)
{
    __u32 zero = 0;
    volatile __u64 *v = bpf_map_lookup_elem(&small, &zero);
    if (!v)
        return 0;
    return v[4]; // bytes 32..39 of an 8-byte value
}

char LICENSE[] SEC("license") = "GPL";
