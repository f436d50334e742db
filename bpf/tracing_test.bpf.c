// Programs for tests/test_tracing.cpp: a USDT probe, a task iterator, and a user ring buffer drain.
// Counters live in one .bss struct the test reads whole.
#include <bpfco/common.bpf.h>
#include <bpfco/tracing_test.h>
#include <bpf/usdt.bpf.h>

struct tracing_test_state state;

SEC("usdt")
int BPF_USDT(usdt_fire, int a, __u64 b)
{
    if (bpfco_current_pid() != state.target_pid)
        return 0;
    __sync_fetch_and_add(&state.usdt_calls, 1);
    __sync_fetch_and_add(&state.usdt_sum, a);
    if (b != (__u64)a * TRACING_USDT_FACTOR || bpf_usdt_cookie(ctx) != TRACING_USDT_COOKIE)
        __sync_fetch_and_add(&state.usdt_bad, 1);
    return 0;
}

// One line per process: "tgid comm".
SEC("iter/task")
int list_tasks(struct bpf_iter__task *ctx)
{
    struct task_struct *task = ctx->task;
    if (!task || task->pid != task->tgid)
        return 0;
    BPF_SEQ_PRINTF(ctx->meta->seq, "%d %s\n", task->tgid, task->comm);
    return 0;
}

// A map iterator's target: one "key value" line per element.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} iter_target SEC(".maps");

SEC("iter/bpf_map_elem")
int list_elements(struct bpf_iter__bpf_map_elem *ctx)
{
    __u32 *key = ctx->key;
    __u64 *value = ctx->value;
    if (!key || !value)
        return 0;
    BPF_SEQ_PRINTF(ctx->meta->seq, "%u %llu\n", *key, *value);
    return 0;
}

struct {
    __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
    __uint(max_entries, 4096);
} user_ring SEC(".maps");

static long drain_one(struct bpf_dynptr *sample, void *ctx)
{
    struct tracing_urb_record r;
    if (bpf_dynptr_read(&r, sizeof(r), sample, 0, 0)) {
        state.urb_bad++;
        return 0;
    }
    if (r.seq != state.urb_drained)
        state.urb_bad++;
    state.urb_drained++;
    state.urb_sum += r.value;
    return 0;
}

// The test's getppid() calls drain the ring: it decides when BPF consumes.
SEC("tp/syscalls/sys_enter_getppid")
int drain_user_ring(void *ctx)
{
    if (bpfco_current_pid() != state.target_pid)
        return 0;
    bpf_user_ringbuf_drain(&user_ring, drain_one, NULL, 0);
    return 0;
}

// Plain bpf_printk output for the trace_pipe reader: the test's getpgid() calls write a line each.
SEC("tp/syscalls/sys_enter_getpgid")
int printk_line(void *ctx)
{
    if (bpfco_current_pid() != state.target_pid)
        return 0;
    bpf_printk("bpfco_tracing line %llu", state.printk_seq++);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
