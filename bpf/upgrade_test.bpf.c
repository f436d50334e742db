// Programs for the upgrade tests (tests/test_upgrade.cpp): attachments without a link fd
// (bpf_prog_attach on a sockmap, SO_ATTACH_BPF on a socket), and two XDP counters a link is
// switched between while packets flow.
#include <bpfco/common.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} up_sockmap SEC(".maps");

SEC("sk_skb/stream_verdict")
int up_stream_verdict(struct __sk_buff* skb) { return SK_PASS; }

// As a socket filter: keeps 0 bytes of every packet, i.e. drops it.
SEC("socket")
int up_drop_all(struct __sk_buff* skb) { return 0; }

#define ETH_P_IP 0x0800
#define IPPROTO_UDP_ 17
#define UP_PORT 4077  // tests/test_upgrade.cpp sends to this port

// counted[0]: UDP packets to UP_PORT that up_xdp_a saw; counted[1]: those up_xdp_b saw.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} up_counted SEC(".maps");

static __always_inline void count_if_ours(struct xdp_md* ctx, __u32 slot) {
    void* data = (void*)(long)ctx->data;
    void* end = (void*)(long)ctx->data_end;
    struct ethhdr* eth = data;
    struct iphdr* ip = (void*)(eth + 1);
    struct udphdr* udp = (void*)(ip + 1);
    if ((void*)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP_ ||
        ip->ihl != 5 || udp->dest != bpf_htons(UP_PORT))
        return;
    __u64* n = bpf_map_lookup_elem(&up_counted, &slot);
    if (n) __sync_fetch_and_add(n, 1);
}

SEC("xdp")
int up_xdp_a(struct xdp_md* ctx) {
    count_if_ours(ctx, 0);
    return XDP_PASS;
}

SEC("xdp")
int up_xdp_b(struct xdp_md* ctx) {
    count_if_ours(ctx, 1);
    return XDP_PASS;
}

// Maps of maps: up_read_inner reads value 0 of the inner map at up_outer[0] and at
// up_outer_hash[7] into up_seen[0] and [1] (~0 when the outer map held no inner map).
struct up_inner_def {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} up_inner_a SEC(".maps"), up_inner_h SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 1);
    __type(key, __u32);
    __array(values, struct up_inner_def);
} up_outer SEC(".maps") = {.values = {[0] = &up_inner_a}};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct up_inner_def);
} up_outer_hash SEC(".maps") = {.values = {[7] = &up_inner_h}};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} up_seen SEC(".maps");

static __always_inline void read_inner(void* outer, __u32 key, __u32 slot) {
    __u32 zero = 0;
    __u64 v = ~0ull;
    void* inner = bpf_map_lookup_elem(outer, &key);
    if (inner) {
        __u64* p = bpf_map_lookup_elem(inner, &zero);
        v = p ? *p : ~1ull;
    }
    bpf_map_update_elem(&up_seen, &slot, &v, BPF_ANY);
}

SEC("xdp")
int up_read_inner(struct xdp_md* ctx) {
    read_inner(&up_outer, 0, 0);
    read_inner(&up_outer_hash, 7, 1);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
