// bpfco_reno: a TCP congestion control written in BPF (struct_ops), Reno's rules in a few lines:
// slow start doubles the window each round trip up to ssthresh, then one segment per window;
// a loss halves it. `callbacks` counts every call the kernel makes into it, so a test can see
// that the algorithm really ran. Needs BPF trampolines (Linux 5.6+ with BTF).
#include <bpfco/common.bpf.h>

__u64 callbacks = 0;

static struct tcp_sock *tcp_of(struct sock *sk)
{
    return (struct tcp_sock *)sk;
}

SEC("struct_ops/bpfco_reno_init")
void BPF_PROG(bpfco_reno_init, struct sock *sk)
{
    __sync_fetch_and_add(&callbacks, 1);
}

SEC("struct_ops/bpfco_reno_ssthresh")
__u32 BPF_PROG(bpfco_reno_ssthresh, struct sock *sk)
{
    const struct tcp_sock *tp = tcp_of(sk);
    __sync_fetch_and_add(&callbacks, 1);
    __u32 half = tp->snd_cwnd >> 1;
    return half > 2 ? half : 2;
}

SEC("struct_ops/bpfco_reno_cong_avoid")
void BPF_PROG(bpfco_reno_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
    struct tcp_sock *tp = tcp_of(sk);
    __sync_fetch_and_add(&callbacks, 1);
    if (tp->snd_cwnd < tp->snd_ssthresh) {
        __u32 grown = tp->snd_cwnd + acked;
        tp->snd_cwnd = grown < tp->snd_ssthresh ? grown : tp->snd_ssthresh;
        return;
    }
    // Congestion avoidance: one segment more once a whole window has been acknowledged.
    tp->snd_cwnd_cnt += acked;
    if (tp->snd_cwnd_cnt >= tp->snd_cwnd) {
        tp->snd_cwnd_cnt -= tp->snd_cwnd;
        if (tp->snd_cwnd < tp->snd_cwnd_clamp)
            tp->snd_cwnd++;
    }
}

SEC("struct_ops/bpfco_reno_undo_cwnd")
__u32 BPF_PROG(bpfco_reno_undo_cwnd, struct sock *sk)
{
    const struct tcp_sock *tp = tcp_of(sk);
    __sync_fetch_and_add(&callbacks, 1);
    return tp->snd_cwnd > tp->prior_cwnd ? tp->snd_cwnd : tp->prior_cwnd;
}

SEC(".struct_ops")
struct tcp_congestion_ops bpfco_reno = {
    .init = (void *)bpfco_reno_init,
    .ssthresh = (void *)bpfco_reno_ssthresh,
    .cong_avoid = (void *)bpfco_reno_cong_avoid,
    .undo_cwnd = (void *)bpfco_reno_undo_cwnd,
    .name = "bpfco_reno",
};

char LICENSE[] SEC("license") = "GPL";
