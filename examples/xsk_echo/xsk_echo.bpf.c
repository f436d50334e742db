// Steers IPv4 UDP packets for one port to the AF_XDP socket of their receive queue; everything
// else goes on to the kernel's stack.
#include <bpfco/common.bpf.h>

#define ETH_P_IP 0x0800
#define IPPROTO_UDP 17

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

/* [0]: the UDP port, host order (set by user space after load). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} echo_port SEC(".maps");

SEC("xdp")
int xsk_steer(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    __u32 zero = 0, *port = bpf_map_lookup_elem(&echo_port, &zero);
    if (!port || (void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
        ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons((__u16)*port))
        return XDP_PASS;
    /* XDP_PASS when no socket is in the slot: the kernel still gets the packet. */
    return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
