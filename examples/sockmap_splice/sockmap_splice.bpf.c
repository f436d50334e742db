// Splices two TCP connections in the kernel: what arrives on the client's connection leaves on
// the server's and back, without passing through user space. Bytes counted per direction.
#include <bpfco/common.bpf.h>

/* [0]: the proxy's end of the client connection, [1]: its end of the server connection. */
struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} splice_socks SEC(".maps");

/* [0]: the listening port (host order, set by user space); [1], [2]: bytes client -> server and
 * server -> client. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} splice_state SEC(".maps");

SEC("sk_skb/stream_verdict")
int splice_verdict(struct __sk_buff *skb)
{
    __u32 zero = 0, dir;
    __u64 *port = bpf_map_lookup_elem(&splice_state, &zero);
    if (!port)
        return SK_DROP;
    /* Data that arrived on the listener's side came from the client. */
    __u32 from_client = skb->local_port == *port;
    dir = from_client ? 1 : 2;
    __u64 *bytes = bpf_map_lookup_elem(&splice_state, &dir);
    if (bytes)
        __sync_fetch_and_add(bytes, skb->len);
    return bpf_sk_redirect_map(skb, &splice_socks, from_client ? 1 : 0, 0);
}

char LICENSE[] SEC("license") = "GPL";
