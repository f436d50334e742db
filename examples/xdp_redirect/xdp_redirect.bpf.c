// Forwards every packet arriving on the interface it is attached to out of the interface in
// tx_ports[0] (bpf_redirect_map), counting per destination slot; ARP and the rest pass when the
// slot is empty.
#include <bpfco/common.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32); /* ifindex */
} tx_ports SEC(".maps");

/* Per-CPU packets and bytes: [0], [1] redirected; [2] not redirected (slot empty). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} redirect_stats SEC(".maps");

static __always_inline void bump(__u32 key, __u64 by)
{
    __u64 *n = bpf_map_lookup_elem(&redirect_stats, &key);
    if (n)
        *n += by;
}

SEC("xdp")
int xdp_redirect_out(struct xdp_md *ctx)
{
    long action = bpf_redirect_map(&tx_ports, 0, XDP_PASS); /* XDP_PASS: the slot is empty */
    if (action == XDP_REDIRECT) {
        bump(0, 1);
        bump(1, ctx->data_end - ctx->data);
    } else {
        bump(2, 1);
    }
    return action;
}

char LICENSE[] SEC("license") = "GPL";
