// Producers for the ring buffer and perf buffer tests and benches: tracepoint programs that emit
// one record per getppid() of one process, and XDP programs that BPF_PROG_TEST_RUN drives
// (repeat N) to write a known sequence of 64-byte records; and the benches' fills, which emit
// many records per BPF_PROG_TEST_RUN through bpf_loop.
#include <bpfco/common.bpf.h>
#include <bpfco/ringbuf.bpf.h>
#include <bpfco/stream_events.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf SEC(".maps");

BPFCO_RINGBUF_DROPS(drops);

/* Set by user space before load or through the .bss map. */
__u32 filter_pid = 0;
/* BPF_RB_NO_WAKEUP etc. for the ring producers. */
__u64 ring_flags = 0;

__u64 ring_seq = 0;
__u64 perf_seq = 0;

static __always_inline void fill(struct bpfco_seq_event *e, __u64 seq)
{
    e->seq = seq;
    e->ktime_ns = bpf_ktime_get_ns();
    e->pid = bpfco_current_pid();
    e->cpu = bpf_get_smp_processor_id();
}

static __always_inline int ring_emit(void)
{
    /* The sequence number is taken whether or not the reservation succeeds, so a drop shows as
     * a gap and produced == received + dropped can be checked. */
    __u64 seq = __sync_fetch_and_add(&ring_seq, 1);
    struct bpfco_seq_event *e = bpfco_ringbuf_reserve(&ring, sizeof(*e), &drops);
    if (!e)
        return 0;
    fill(e, seq);
    bpf_ringbuf_submit(e, ring_flags);
    return 0;
}

static __always_inline int perf_emit(void *ctx)
{
    struct bpfco_seq_event e = {};
    fill(&e, __sync_fetch_and_add(&perf_seq, 1));
    bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int ring_getppid(void *ctx)
{
    if (bpfco_current_pid() != filter_pid)
        return 0;
    return ring_emit();
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int perf_getppid(void *ctx)
{
    if (bpfco_current_pid() != filter_pid)
        return 0;
    return perf_emit(ctx);
}

SEC("xdp")
int ring_test_run(struct xdp_md *ctx)
{
    ring_emit();
    return XDP_PASS;
}

SEC("xdp")
int perf_test_run(struct xdp_md *ctx)
{
    perf_emit(ctx);
    return XDP_PASS;
}

/* The fills: one run emits fill_count records through bpf_loop, each starting with its index
 * (a u64). Ring records carry fill_payload bytes: 16, 64 or 1024, or 0 for 16, 64, 16, 1024 in
 * turn; perf samples are a struct bpfco_seq_event. Set through the .bss map before a run. */
__u32 fill_count = 0;
__u32 fill_payload = 64;

struct payload_16 {
    __u64 seq;
    __u64 pad;
};
struct payload_1k {
    __u64 seq;
    __u64 pad[127];
};

#define RING_PUT(type, i)                                                   \
    ({                                                                      \
        type *__r = bpfco_ringbuf_reserve(&ring, sizeof(type), &drops);     \
        if (__r) {                                                          \
            __r->seq = (i);                                                 \
            bpf_ringbuf_submit(__r, ring_flags);                            \
        }                                                                   \
    })

static long ring_fill_one(__u64 i, void *unused)
{
    __u32 size = fill_payload;
    if (size == 0)
        size = (i & 1) == 0 ? 16 : (i & 2) ? 1024 : 64;
    if (size == 16)
        RING_PUT(struct payload_16, i);
    else if (size == 1024)
        RING_PUT(struct payload_1k, i);
    else
        RING_PUT(struct bpfco_seq_event, i);
    return 0;
}

SEC("xdp")
int ring_fill(struct xdp_md *ctx)
{
    bpf_loop(fill_count, ring_fill_one, NULL, 0);
    return XDP_PASS;
}

/* bpf_perf_event_output needs the program's context: the callback reads it back from the
 * caller's stack, where the verifier keeps its type. */
struct perf_fill_ctx {
    struct xdp_md *ctx;
};

static long perf_fill_one(__u64 i, struct perf_fill_ctx *c)
{
    struct bpfco_seq_event e = {};
    e.seq = i;
    bpf_perf_event_output(c->ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
    return 0;
}

SEC("xdp")
int perf_fill(struct xdp_md *ctx)
{
    struct perf_fill_ctx c = {ctx};
    bpf_loop(fill_count, perf_fill_one, &c, 0);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
