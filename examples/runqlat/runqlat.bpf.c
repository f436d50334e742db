// runqlat: run-queue latency, the time from a task being woken (or preempted while runnable) to
// it running, as a log2 histogram in microseconds (or milliseconds). Raw tracepoints, so that it
// needs no BPF trampoline. Every filter is a const volatile global set before load.
#include <bpfco/common.bpf.h>
#include <bpfco/histogram.bpf.h>

const volatile __u32 targ_tgid = 0;     /* 0: every process */
const volatile bool targ_ms = false;    /* milliseconds instead of microseconds */

__u64 samples = 0;  /* .bss: one per histogram entry, read by user space without a syscall */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);   /* tid */
    __type(value, __u64); /* when it became runnable */
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, BPFCO_LOG2_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} runq_latency SEC(".maps");

static __always_inline void enqueue(struct task_struct *p)
{
    __u32 tid = BPF_CORE_READ(p, pid);
    if (!tid || (targ_tgid && BPF_CORE_READ(p, tgid) != targ_tgid))
        return;
    __u64 now = bpf_ktime_get_ns();
    bpf_map_update_elem(&start, &tid, &now, BPF_ANY);
}

SEC("raw_tracepoint/sched_wakeup")
int runqlat_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
    enqueue((struct task_struct *)ctx->args[0]);
    return 0;
}

SEC("raw_tracepoint/sched_wakeup_new")
int runqlat_wakeup_new(struct bpf_raw_tracepoint_args *ctx)
{
    enqueue((struct task_struct *)ctx->args[0]);
    return 0;
}

/* sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...) */
SEC("raw_tracepoint/sched_switch")
int runqlat_switch(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *prev = (struct task_struct *)ctx->args[1];
    struct task_struct *next = (struct task_struct *)ctx->args[2];
    /* A task switched out while still runnable (TASK_RUNNING == 0) waits on the queue again. */
    if (BPF_CORE_READ(prev, __state) == 0)
        enqueue(prev);
    __u32 tid = BPF_CORE_READ(next, pid);
    __u64 *t = bpf_map_lookup_elem(&start, &tid);
    if (!t)
        return 0;
    __u64 delta = (bpf_ktime_get_ns() - *t) / (targ_ms ? 1000000 : 1000);
    bpf_map_delete_elem(&start, &tid);
    bpfco_hist_log2_add(&runq_latency, delta, BPFCO_LOG2_SLOTS);
    __sync_fetch_and_add(&samples, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
