// The consumer's own BPF program: counts getppid calls made by the process in target_pid, a
// global set before load, into a .bss struct the C++ side takes from the generated header.
#include <bpfco/common.bpf.h>

struct getppid_stats {
    __u64 calls;
    __u32 last_pid;
    __u32 last_tid;
};

const volatile __u32 target_pid = 0;
struct getppid_stats stats = {};

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    if ((__u32)(id >> 32) != target_pid)
        return 0;
    __sync_fetch_and_add(&stats.calls, 1);
    stats.last_pid = bpfco_current_pid();
    stats.last_tid = (__u32)id;
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
