// The task iterator behind examples/ps: one text line per process.
#include <bpfco/common.bpf.h>

SEC("iter/task")
int ps_tasks(struct bpf_iter__task *ctx)
{
    struct task_struct *task = ctx->task;
    if (!task || task->pid != task->tgid)
        return 0;  // processes only, not their other threads
    int ppid = BPF_CORE_READ(task, real_parent, tgid);
    int threads = BPF_CORE_READ(task, signal, nr_threads);
    __u64 start_ns = task->start_time;
    BPF_SEQ_PRINTF(ctx->meta->seq, "%d %d %d %llu %s\n", task->tgid, ppid, threads, start_ns, task->comm);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
