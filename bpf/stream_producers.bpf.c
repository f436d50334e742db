// Producers for the ring buffer and perf buffer tests and benches: tracepoint programs that emit
// one record per getppid() of one process, and XDP programs that BPF_PROG_TEST_RUN drives
// (repeat N) to write a known sequence of 64-byte records.
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

char LICENSE[] SEC("license") = "GPL";
