// Three programs of different kinds, each with a map of its own, that the introspection tests and
// the bpftop test run with BPF_PROG_TEST_RUN and then find among the kernel's programs.
#include <bpfco/common.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} xdp_runs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} tc_runs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} socket_runs SEC(".maps");

static __always_inline void count(void *map)
{
    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(map, &zero);
    if (n)
        __sync_fetch_and_add(n, 1);
}

SEC("xdp")
int introspect_xdp(struct xdp_md *ctx)
{
    count(&xdp_runs);
    return XDP_PASS;
}

SEC("tc")
int introspect_tc(struct __sk_buff *skb)
{
    count(&tc_runs);
    return 0; /* TC_ACT_OK */
}

SEC("socket")
int introspect_sock(struct __sk_buff *skb)
{
    __u32 zero = 0;
    __u64 one = 1;
    bpf_map_update_elem(&socket_runs, &zero, &one, BPF_ANY);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
