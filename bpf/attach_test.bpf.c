// Programs for the attach tests: one counter per hook, so each test asserts what the kernel ran.
// counters[] slots are listed in tests/attach_slots.hpp; target_pid[0] is the test's pid.
#include <bpfco/common.bpf.h>

#define ETH_P_IP 0x0800
#define IPPROTO_UDP_ 17

enum {
    SLOT_XDP_UDP = 0,    // IPv4 UDP packets XDP saw (passed or dropped)
    SLOT_XDP_DROP = 1,   // of those, dropped because the source is in blocked_ips
    SLOT_TC_INGRESS = 2, // IPv4 UDP packets at TC ingress
    SLOT_TC_EGRESS = 3,  // IPv4 UDP packets at TC egress
    SLOT_UPROBE = 4,
    SLOT_URETPROBE = 5,
    SLOT_URET_SUM = 6,   // sum of the probed function's return values
    SLOT_PERF_OURS = 7,  // cpu-clock samples taken while the test process ran
    SLOT_PERF_ALL = 8,
    SLOT_SOCK_CREATE = 9,
    SLOT_COUNT = 16,
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SLOT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} target_pid SEC(".maps");

// IPv4 source addresses (network byte order) whose packets XDP drops.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u8);
} blocked_ips SEC(".maps");

static __always_inline void bump(__u32 slot, __u64 by)
{
    __u64 *n = bpf_map_lookup_elem(&counters, &slot);
    if (n)
        __sync_fetch_and_add(n, by);
}

static __always_inline int is_target(void)
{
    __u32 zero = 0;
    __u32 *pid = bpf_map_lookup_elem(&target_pid, &zero);
    return pid && *pid == bpfco_current_pid();
}

// The IPv4 header of a UDP packet in [data, end), or NULL.
static __always_inline struct iphdr *udp4(void *data, void *end)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return NULL;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP_)
        return NULL;
    return ip;
}

SEC("xdp")
int xdp_udp_counter(struct xdp_md *ctx)
{
    struct iphdr *ip = udp4((void *)(long)ctx->data, (void *)(long)ctx->data_end);
    if (!ip)
        return XDP_PASS;
    bump(SLOT_XDP_UDP, 1);
    __u32 saddr = ip->saddr;
    if (bpf_map_lookup_elem(&blocked_ips, &saddr)) {
        bump(SLOT_XDP_DROP, 1);
        return XDP_DROP;
    }
    return XDP_PASS;
}

SEC("tc")
int tc_ingress_counter(struct __sk_buff *skb)
{
    if (udp4((void *)(long)skb->data, (void *)(long)skb->data_end))
        bump(SLOT_TC_INGRESS, 1);
    return 0; // TC_ACT_OK
}

SEC("tc")
int tc_egress_counter(struct __sk_buff *skb)
{
    if (udp4((void *)(long)skb->data, (void *)(long)skb->data_end))
        bump(SLOT_TC_EGRESS, 1);
    return 0;
}

SEC("uprobe")
int uprobe_counter(struct pt_regs *ctx)
{
    bump(SLOT_UPROBE, 1);
    return 0;
}

SEC("uretprobe")
int uretprobe_counter(struct pt_regs *ctx)
{
    bump(SLOT_URETPROBE, 1);
    bump(SLOT_URET_SUM, PT_REGS_RC(ctx));
    return 0;
}

SEC("perf_event")
int perf_sample_counter(struct bpf_perf_event_data *ctx)
{
    bump(SLOT_PERF_ALL, 1);
    if (is_target())
        bump(SLOT_PERF_OURS, 1);
    return 0;
}

SEC("cgroup/sock_create")
int sock_create_counter(struct bpf_sock *sk)
{
    bump(SLOT_SOCK_CREATE, 1);
    return 1; // allow
}

char LICENSE[] SEC("license") = "GPL";
