// kprobe, kretprobe and fentry counters for the vm suite (Debian's stock kernel in qemu); on a
// kernel without kprobes or fentry the tests skip. target_pid[0] is the test's pid.
#include <bpfco/common.bpf.h>

enum { SLOT_KPROBE = 0, SLOT_KRETPROBE = 1, SLOT_FENTRY = 2, SLOT_COUNT = 4 };

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SLOT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} target_pid SEC(".maps");

static __always_inline void bump_if_target(__u32 slot)
{
    __u32 zero = 0;
    __u32 *pid = bpf_map_lookup_elem(&target_pid, &zero);
    if (!pid || *pid != bpfco_current_pid())
        return;
    __u64 *n = bpf_map_lookup_elem(&counters, &slot);
    if (n)
        __sync_fetch_and_add(n, 1);
}

// Attached by name at run time (attach_kprobe), so the section names no function.
SEC("kprobe")
int kprobe_counter(struct pt_regs *ctx)
{
    bump_if_target(SLOT_KPROBE);
    return 0;
}

SEC("kretprobe")
int kretprobe_counter(struct pt_regs *ctx)
{
    bump_if_target(SLOT_KRETPROBE);
    return 0;
}

SEC("fentry/do_sys_openat2")
int BPF_PROG(fentry_openat2, int dfd, const char *filename, void *how)
{
    bump_if_target(SLOT_FENTRY);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
