// Programs the networking tests attach to veth pairs in their own namespaces and to sockets:
// devmap and cpumap redirects, AF_XDP steering, a bloom filter check, a socket filter, and a
// sockmap splice.
#include <bpfco/common.bpf.h>

#define ETH_P_IP 0x0800
#define IPPROTO_UDP 17

/* Set by the tests after load: the steered UDP destination port, the cpumap slot, the splice's
 * listening port (ports in host order). */
enum { CONFIG_UDP_PORT, CONFIG_TARGET_CPU, CONFIG_SPLICE_PORT, CONFIG_N };
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, CONFIG_N);
    __type(key, __u32);
    __type(value, __u32);
} settings SEC(".maps");

static __always_inline __u32 config_of(__u32 key)
{
    __u32 *v = bpf_map_lookup_elem(&settings, &key);
    return v ? *v : 0;
}

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct bpf_devmap_val);
} tx_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_CPUMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

/* Packets per redirect slot (devmap), per CPU (cpumap program), and seen by the receiver. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} received SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
    __uint(max_entries, 1000);
    __type(value, __u32);
    __uint(map_extra, 5); /* hash functions */
} seen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} splice SEC(".maps");

/* Bytes the splice moved, by direction (0: towards slot 1, 1: towards slot 0). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} spliced SEC(".maps");

static __always_inline void bump(void *map, __u32 key, __u64 by)
{
    __u64 *n = bpf_map_lookup_elem(map, &key);
    if (n)
        __sync_fetch_and_add(n, by);
}

/* True for an IPv4 UDP packet to the configured port (options-free IP header, as the tests send). */
static __always_inline bool is_steered(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > end)
        return false;
    return eth->h_proto == bpf_htons(ETH_P_IP) && ip->ihl == 5 && ip->protocol == IPPROTO_UDP &&
           udp->dest == bpf_htons((__u16)config_of(CONFIG_UDP_PORT));
}

SEC("xdp")
int redirect_dev(struct xdp_md *ctx)
{
    if (!is_steered(ctx))
        return XDP_PASS;
    bump(&counts, 0, 1);
    return bpf_redirect_map(&tx_ports, 0, 0);
}

/* Runs after the devmap redirect, before the packet leaves: counts in slot 4. */
SEC("xdp/devmap")
int count_egress(struct xdp_md *ctx)
{
    bump(&counts, 4, 1);
    return XDP_PASS;
}

/* The receiving end of the redirect: counts what arrives, lets it pass. */
SEC("xdp")
int count_received(struct xdp_md *ctx)
{
    if (is_steered(ctx))
        bump(&received, 0, 1);
    return XDP_PASS;
}

SEC("xdp")
int redirect_cpu(struct xdp_md *ctx)
{
    if (!is_steered(ctx))
        return XDP_PASS;
    return bpf_redirect_map(&cpus, config_of(CONFIG_TARGET_CPU), 0);
}

/* Runs on the cpumap's CPU: counts there and drops (the test needs no skb). */
SEC("xdp/cpumap")
int count_on_cpu(struct xdp_md *ctx)
{
    bump(&counts, bpf_get_smp_processor_id(), 1);
    return XDP_DROP;
}

SEC("xdp")
int steer_xsk(struct xdp_md *ctx)
{
    if (!is_steered(ctx))
        return XDP_PASS;
    return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

/* XDP_PASS when the packet's first 4 bytes are (maybe) in the filter, XDP_DROP when not. */
SEC("xdp")
int bloom_check(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    __u32 value;
    if (data + sizeof value > end)
        return XDP_ABORTED;
    __builtin_memcpy(&value, data, sizeof value);
    return bpf_map_peek_elem(&seen, &value) == 0 ? XDP_PASS : XDP_DROP;
}

/* Keeps datagrams of at most 64 bytes (UDP header included), drops longer ones. */
SEC("socket")
int short_only(struct __sk_buff *skb)
{
    return skb->len <= 64 ? skb->len : 0;
}

/* Data arriving on the listener's side goes out of slot 1, data arriving on slot 1 goes out of
 * slot 0's socket: two connections spliced in the kernel. */
SEC("sk_skb/stream_verdict")
int splice_verdict(struct __sk_buff *skb)
{
    __u32 from_listener = skb->local_port == config_of(CONFIG_SPLICE_PORT);
    bump(&spliced, from_listener ? 0 : 1, skb->len);
    return bpf_sk_redirect_map(skb, &splice, from_listener ? 1 : 0, 0);
}

/* Counts message bytes sent on sockets in the map; lets them through. */
SEC("sk_msg")
int count_msg(struct sk_msg_md *msg)
{
    bump(&counts, 1, msg->size);
    return SK_PASS;
}

/* Counts established TCP connections of the cgroup (active: 2, passive: 3). */
SEC("sockops")
int count_established(struct bpf_sock_ops *ops)
{
    if (ops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
        bump(&counts, 2, 1);
    else if (ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
        bump(&counts, 3, 1);
    return 1;
}

char LICENSE[] SEC("license") = "GPL";
