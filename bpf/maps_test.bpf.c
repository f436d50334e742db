// Programs the typed-map tests run with BPF_PROG_TEST_RUN, so that the kernel itself writes and
// reads the maps: per-CPU counters, an LPM trie lookup on a packet, and a tail-call chain.
#include <bpfco/common.bpf.h>

#define ETH_P_IP 0x0800

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} cpu_counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} cpu_hash_counts SEC(".maps");

/* Counts every run on the CPU it ran on: array slot 0 and hash key 7. */
SEC("raw_tp/sys_enter")
int count_per_cpu(void *ctx)
{
    __u32 zero = 0, seven = 7;
    __u64 one = 1, *n = bpf_map_lookup_elem(&cpu_counts, &zero);
    if (n)
        *n += 1; /* per-CPU: no other CPU writes this copy */
    n = bpf_map_lookup_elem(&cpu_hash_counts, &seven);
    if (n)
        *n += 1;
    else
        bpf_map_update_elem(&cpu_hash_counts, &seven, &one, BPF_NOEXIST);
    return 0;
}

struct ipv4_lpm_key {
    __u32 prefixlen;
    __u32 addr; /* network byte order */
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 64);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct ipv4_lpm_key);
    __type(value, __u32);
} routes SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} route_hit SEC(".maps");

/* Looks up the packet's IPv4 destination in `routes` and stores the matched value (0 when no
 * prefix matches) in route_hit[0]. */
SEC("xdp")
int lookup_route(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_ABORTED;
    struct ipv4_lpm_key key = {.prefixlen = 32, .addr = ip->daddr};
    __u32 zero = 0, none = 0, *v = bpf_map_lookup_elem(&routes, &key);
    bpf_map_update_elem(&route_hit, &zero, v ? v : &none, BPF_ANY);
    return XDP_PASS;
}

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} jump_table SEC(".maps");

/* Tail-calls slot 0; reaching the return means the slot was empty. */
SEC("xdp")
int chain_entry(struct xdp_md *ctx)
{
    bpf_tail_call(ctx, &jump_table, 0);
    return XDP_DROP;
}

SEC("xdp")
int chain_second(struct xdp_md *ctx)
{
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
