// A packet parser that hands each packet to a per-protocol filter through a program array.
// User space fills (and may change) the slots; an empty slot falls through to the parser's verdict.
#include <bpfco/common.bpf.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

enum { SLOT_IPV4, SLOT_IPV6, SLOT_OTHER, SLOTS };

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, SLOTS);
    __type(key, __u32);
    __type(value, __u32);
} filters SEC(".maps");

/* Packets each filter (and the fall-through) saw: [SLOT_*], [SLOTS] = no filter in the slot. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SLOTS + 1);
    __type(key, __u32);
    __type(value, __u64);
} seen SEC(".maps");

static __always_inline void count(__u32 slot)
{
    __u64 *n = bpf_map_lookup_elem(&seen, &slot);
    if (n)
        *n += 1;
}

SEC("xdp")
int parse_packet(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    __u32 slot = eth->h_proto == bpf_htons(ETH_P_IP)     ? SLOT_IPV4
               : eth->h_proto == bpf_htons(ETH_P_IPV6) ? SLOT_IPV6
                                                       : SLOT_OTHER;
    bpf_tail_call(ctx, &filters, slot);
    /* Only reached when the slot is empty. */
    count(SLOTS);
    return XDP_PASS;
}

SEC("xdp")
int filter_ipv4(struct xdp_md *ctx)
{
    count(SLOT_IPV4);
    return XDP_PASS;
}

SEC("xdp")
int filter_ipv6(struct xdp_md *ctx)
{
    count(SLOT_IPV6);
    return XDP_PASS;
}

/* Anything that is neither IPv4 nor IPv6 is dropped while this filter is installed. */
SEC("xdp")
int filter_other(struct xdp_md *ctx)
{
    count(SLOT_OTHER);
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
