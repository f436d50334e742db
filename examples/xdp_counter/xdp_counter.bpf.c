// Counts packets and bytes arriving on an interface (per CPU, summed in user space) and drops
// packets whose IPv4 source is in blocked_ips.
#include <bpfco/common.bpf.h>

#define ETH_P_IP 0x0800

enum { STAT_PACKETS, STAT_BYTES, STATS };

/* Per-CPU counters, so that no two CPUs contend for a cache line; user space sums them. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, STATS);
    __type(key, __u32);
    __type(value, __u64);
} xdp_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32); /* IPv4 address, network order */
    __type(value, __u8);
} blocked_ips SEC(".maps");

SEC("xdp")
int xdp_packet_counter(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    __u32 key = STAT_PACKETS;
    __u64 *n = bpf_map_lookup_elem(&xdp_stats, &key);
    if (n)
        *n += 1;
    key = STAT_BYTES;
    n = bpf_map_lookup_elem(&xdp_stats, &key);
    if (n)
        *n += data_end - data;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_PASS;
    __u32 src = ip->saddr;
    return bpf_map_lookup_elem(&blocked_ips, &src) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
