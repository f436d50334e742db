// Programs for tests/test_vm_tracing.cpp (kprobe_multi and LSM need kprobes / BPF trampolines,
// which the host kernel lacks): one kprobe_multi counter keyed by function, one LSM hook that
// denies opening one marker file.
#include <bpfco/common.bpf.h>

#define EPERM 1

/* One struct, so that its layout is the test's (separate globals may be laid out in any order). */
struct {
    __u32 target_pid;
    __u64 marker_ino;
    __u64 denied;
} bss;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u64);   /* the function's address (bpf_get_func_ip) */
    __type(value, __u64); /* calls by target_pid */
} calls_by_function SEC(".maps");

SEC("kprobe.multi")
int count_syscalls(struct pt_regs *ctx)
{
    if (bpfco_current_pid() != bss.target_pid)
        return 0;
    __u64 ip = bpf_get_func_ip(ctx), one = 1;
    __u64 *n = bpf_map_lookup_elem(&calls_by_function, &ip);
    if (n)
        __sync_fetch_and_add(n, 1);
    else
        bpf_map_update_elem(&calls_by_function, &ip, &one, BPF_NOEXIST);
    return 0;
}

SEC("lsm/file_open")
int BPF_PROG(deny_marker_open, struct file *file, int ret)
{
    if (ret)
        return ret;
    if (bss.marker_ino && BPF_CORE_READ(file, f_inode, i_ino) == bss.marker_ino) {
        __sync_fetch_and_add(&bss.denied, 1);
        return -EPERM;
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
