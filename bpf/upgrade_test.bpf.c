// Programs for the upgrade tests (tests/test_upgrade.cpp): attachments without a link fd
// (bpf_prog_attach on a sockmap, SO_ATTACH_BPF on a socket).
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

char LICENSE[] SEC("license") = "GPL";
