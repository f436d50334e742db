// Counts the syscalls one thread enters (its id in target[0]) by syscall number: the benches'
// consumer threads, so that a bench can print syscalls per 1,000 events for bpfco and libbpf
// alike, and which calls they are. An epoll_wait or epoll_pwait with a zero timeout (a look, not
// a sleep) is counted under its number with zero_timeout_flag set.
#include <bpfco/common.bpf.h>

#define NR_EPOLL_WAIT 232   /* x86_64 */
#define NR_EPOLL_PWAIT 281  /* x86_64 */
#define ZERO_TIMEOUT_FLAG (1u << 31)

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} target SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 512);
    __type(key, __u32);
    __type(value, __u64);
} syscalls SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int count_thread_syscalls(struct bpf_raw_tracepoint_args *ctx)
{
    __u32 zero = 0;
    __u32 *tid = bpf_map_lookup_elem(&target, &zero);
    /* The low half of pid_tgid is the thread id. */
    if (!tid || *tid == 0 || *tid != (__u32)bpf_get_current_pid_tgid())
        return 0;
    __u32 nr = (__u32)ctx->args[1];
    if (nr == NR_EPOLL_WAIT || nr == NR_EPOLL_PWAIT) {
        /* sys_enter's first argument is the task's pt_regs; the timeout is the 4th argument. */
        struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
        if ((int)BPF_CORE_READ(regs, r10) == 0)
            nr |= ZERO_TIMEOUT_FLAG;
    }
    __u64 one = 1, *n = bpf_map_lookup_elem(&syscalls, &nr);
    if (n)
        __sync_fetch_and_add(n, 1);
    else
        bpf_map_update_elem(&syscalls, &nr, &one, BPF_NOEXIST);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
