// monitord's kernel side: packet counters and a CIDR blocklist (XDP ingress, TC egress), exec,
// file-open and TCP-connect events into one ring buffer, and a process-lifetime histogram.
// User space picks one connect mechanism (kprobe, fentry or tracepoint) with set_autoload.
#include <bpfco/common.bpf.h>
#include <bpfco/histogram.bpf.h>
#include <bpfco/ringbuf.bpf.h>

#include "monitord_events.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define TCP_CLOSE 7
#define TCP_SYN_SENT 2
#define IPPROTO_ICMPV6 58

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, MONITORD_DIRECTIONS * MONITORD_PROTOS);
    __type(key, __u32);
    __type(value, struct monitord_packets);
} packets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, MONITORD_COUNTERS);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 4096);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct monitord_v4_key);
    __type(value, __u8);
} blocked_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 4096);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct monitord_v6_key);
    __type(value, __u8);
} blocked_v6 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20);
} events SEC(".maps");
/* One ring carries three kinds of record, told apart by their `kind` (so no BPFCO_MAP_RECORD):
   each is kept in BTF for the C++ side's generated header, monitord.bpf.types.hpp. */
BPFCO_RECORD_TYPE(monitord_exec);
BPFCO_RECORD_TYPE(monitord_open);
BPFCO_RECORD_TYPE(monitord_connect);

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, MONITORD_LIFETIME_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} lifetime_us SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, __u64);
} exec_start SEC(".maps");

struct open_args {
    const char *path;
    __s32 flags;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct open_args);
} opening SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct sock *);
} connecting SEC(".maps");

static __always_inline void count(__u32 slot)
{
    __u64 *n = bpf_map_lookup_elem(&counters, &slot);
    if (n)
        *n += 1;
}

/* A failed reserve is a lost event: counted here, reported in /metrics, never silent. */
BPFCO_RINGBUF_DROPS(event_drops);

/* ---- packets ---- */

struct parsed {
    __u32 proto;
    __u32 family;
    void *saddr; /* inside the packet */
};

static __always_inline int parse(void *data, void *data_end, struct parsed *p)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return -1;
    __u8 l4;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > data_end)
            return -1;
        l4 = ip->protocol;
        p->family = AF_INET;
        p->saddr = &ip->saddr;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > data_end)
            return -1;
        l4 = ip6->nexthdr;
        p->family = AF_INET6;
        p->saddr = &ip6->saddr;
    } else {
        p->family = 0;
        p->saddr = 0;
        p->proto = MONITORD_OTHER;
        return 0;
    }
    p->proto = l4 == IPPROTO_TCP ? MONITORD_TCP
             : l4 == IPPROTO_UDP ? MONITORD_UDP
             : (l4 == IPPROTO_ICMP || l4 == IPPROTO_ICMPV6) ? MONITORD_ICMP
                                                            : MONITORD_OTHER;
    return 0;
}

static __always_inline void count_packet(__u32 direction, __u32 proto, __u64 bytes)
{
    __u32 slot = direction * MONITORD_PROTOS + proto;
    struct monitord_packets *c = bpf_map_lookup_elem(&packets, &slot);
    if (c) {
        c->packets += 1;
        c->bytes += bytes;
    }
}

static __always_inline int blocked(struct parsed *p)
{
    if (p->family == AF_INET) {
        struct monitord_v4_key k = {.prefixlen = 32};
        __builtin_memcpy(k.addr, p->saddr, 4);
        return bpf_map_lookup_elem(&blocked_v4, &k) != 0;
    }
    if (p->family == AF_INET6) {
        struct monitord_v6_key k = {.prefixlen = 128};
        __builtin_memcpy(k.addr, p->saddr, 16);
        return bpf_map_lookup_elem(&blocked_v6, &k) != 0;
    }
    return 0;
}

SEC("xdp")
int monitord_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    struct parsed p;
    if (parse(data, data_end, &p) < 0)
        return XDP_PASS;
    count_packet(MONITORD_INGRESS, p.proto, data_end - data);
    if (blocked(&p)) {
        count(MONITORD_BLOCKED_PACKETS);
        return XDP_DROP;
    }
    return XDP_PASS;
}

SEC("tc")
int monitord_tc_egress(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
    struct parsed p;
    if (parse(data, data_end, &p) == 0)
        count_packet(MONITORD_EGRESS, p.proto, skb->len);
    return 0; /* TC_ACT_OK */
}

/* ---- processes ---- */

SEC("tracepoint/sched/sched_process_exec")
int monitord_exec(struct trace_event_raw_sched_process_exec *ctx)
{
    __u32 pid = bpfco_current_pid();
    __u64 now = bpf_ktime_get_ns();
    bpf_map_update_elem(&exec_start, &pid, &now, BPF_ANY);

    struct monitord_exec *e = bpfco_ringbuf_reserve(&events, sizeof(*e), &event_drops);
    if (!e)
        return 0;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    e->kind = MONITORD_EXEC;
    e->pid = pid;
    e->ppid = BPF_CORE_READ(task, real_parent, tgid);
    e->uid = (__u32)bpf_get_current_uid_gid();
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    unsigned int off = ctx->__data_loc_filename & 0xFFFF;
    bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + off);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int monitord_exit(void *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 pid = id >> 32;
    if (pid != (__u32)id) /* a thread, not the process */
        return 0;
    __u64 *start = bpf_map_lookup_elem(&exec_start, &pid);
    if (!start)
        return 0;
    __u64 us = (bpf_ktime_get_ns() - *start) / 1000;
    bpf_map_delete_elem(&exec_start, &pid);
    bpfco_hist_log2_add(&lifetime_us, us, MONITORD_LIFETIME_SLOTS);
    __u32 sum_slot = MONITORD_LIFETIME_SUM_US;
    __u64 *sum = bpf_map_lookup_elem(&counters, &sum_slot);
    if (sum)
        *sum += us;
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int monitord_openat_enter(struct trace_event_raw_sys_enter *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct open_args a = {.path = (const char *)ctx->args[1], .flags = (__s32)ctx->args[2]};
    bpf_map_update_elem(&opening, &id, &a, BPF_ANY);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int monitord_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct open_args *a = bpf_map_lookup_elem(&opening, &id);
    if (!a)
        return 0;
    struct monitord_open *e = bpfco_ringbuf_reserve(&events, sizeof(*e), &event_drops);
    if (e) {
        e->kind = MONITORD_OPEN;
        e->pid = id >> 32;
        e->flags = a->flags;
        e->result = (__s32)ctx->ret;
        bpf_get_current_comm(e->comm, sizeof(e->comm));
        bpf_probe_read_user_str(e->path, sizeof(e->path), a->path);
        bpf_ringbuf_submit(e, 0);
    }
    bpf_map_delete_elem(&opening, &id);
    return 0;
}

/* ---- TCP connects: three mechanisms, one loaded ---- */

static __always_inline void emit_connect(struct sock *sk, __u16 mechanism)
{
    struct monitord_connect *e = bpfco_ringbuf_reserve(&events, sizeof(*e), &event_drops);
    if (!e)
        return;
    __builtin_memset(e, 0, sizeof(*e));
    e->kind = MONITORD_CONNECT;
    e->pid = bpfco_current_pid();
    e->mechanism = mechanism;
    e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
    e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
    e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    if (e->family == AF_INET) {
        BPF_CORE_READ_INTO(e->saddr, sk, __sk_common.skc_rcv_saddr);
        BPF_CORE_READ_INTO(e->daddr, sk, __sk_common.skc_daddr);
    } else {
        BPF_CORE_READ_INTO(e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
        BPF_CORE_READ_INTO(e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
    }
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
}

/* Entry remembers the socket per thread; return reports it once the connect succeeded. */
static __always_inline int connect_entry(struct sock *sk)
{
    __u64 id = bpf_get_current_pid_tgid();
    bpf_map_update_elem(&connecting, &id, &sk, BPF_ANY);
    return 0;
}

static __always_inline int connect_return(int ret)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct sock **skp = bpf_map_lookup_elem(&connecting, &id);
    if (!skp)
        return 0;
    if (ret == 0)
        emit_connect(*skp, 1);
    bpf_map_delete_elem(&connecting, &id);
    return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(monitord_kprobe_connect, struct sock *sk) { return connect_entry(sk); }

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(monitord_kretprobe_connect, int ret) { return connect_return(ret); }

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(monitord_kprobe_connect6, struct sock *sk) { return connect_entry(sk); }

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(monitord_kretprobe_connect6, int ret) { return connect_return(ret); }

SEC("fexit/tcp_v4_connect")
int BPF_PROG(monitord_fexit_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
    if (ret == 0)
        emit_connect(sk, 2);
    return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(monitord_fexit_connect6, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
    if (ret == 0)
        emit_connect(sk, 2);
    return 0;
}

/* The tracepoint path sees a connect twice. CLOSE -> SYN_SENT runs in the connecting task (pid
 * and comm are right there) but before the kernel picks the source port; leaving SYN_SENT
 * (established, refused, timed out) has the port but may run in softirq. So the first stashes who
 * connects, keyed by the socket, and the second reports it with the real port. */
struct connect_owner {
    __u32 pid;
    char comm[MONITORD_COMM_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct connect_owner);
} connect_owners SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int monitord_tp_connect(struct trace_event_raw_inet_sock_set_state *ctx)
{
    if (ctx->protocol != IPPROTO_TCP)
        return 0;
    __u64 sk = (__u64)ctx->skaddr;
    if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_SYN_SENT) {
        struct connect_owner owner = {.pid = bpfco_current_pid()};
        bpf_get_current_comm(owner.comm, sizeof(owner.comm));
        bpf_map_update_elem(&connect_owners, &sk, &owner, BPF_ANY);
        return 0;
    }
    if (ctx->oldstate != TCP_SYN_SENT)
        return 0;
    struct connect_owner *owner = bpf_map_lookup_elem(&connect_owners, &sk);
    if (!owner)
        return 0;
    struct monitord_connect *e = bpfco_ringbuf_reserve(&events, sizeof(*e), &event_drops);
    if (e) {
        __builtin_memset(e, 0, sizeof(*e));
        e->kind = MONITORD_CONNECT;
        e->pid = owner->pid;
        e->mechanism = 0;
        e->family = ctx->family;
        e->sport = ctx->sport;
        e->dport = ctx->dport;
        /* The verifier refuses loads through a ctx pointer the compiler offset: copy with a helper. */
        if (ctx->family == AF_INET) {
            bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
            bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
        } else {
            bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
            bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
        }
        __builtin_memcpy(e->comm, owner->comm, sizeof(e->comm));
        bpf_ringbuf_submit(e, 0);
    }
    bpf_map_delete_elem(&connect_owners, &sk);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
