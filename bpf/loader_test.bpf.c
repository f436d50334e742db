// Programs for the loader's own tests (tests/test_loader_parity.cpp, tests/test_vm_loader.cpp):
// the same probe on file opens three ways, best first, for object::choose_alternatives; sections
// that the generic attach() cannot attach alone; a missing fentry target and an LSM hook for the
// hints. Each test switches off what it does not use. target_pid[0] is the test's pid.
#include <bpfco/common.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} opens SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} target_pid SEC(".maps");

// In .rodata and .bss, so that the object has internal maps whose names the tests compare with
// libbpf's.
const volatile __u64 open_increment = 1;
__u64 opens_seen = 0;

static __always_inline void count_open(void)
{
    __u32 zero = 0;
    __u32 *pid = bpf_map_lookup_elem(&target_pid, &zero);
    if (!pid || *pid != bpfco_current_pid())
        return;
    __u64 *n = bpf_map_lookup_elem(&opens, &zero);
    if (n)
        __sync_fetch_and_add(n, open_increment);
    __sync_fetch_and_add(&opens_seen, 1);
}

SEC("fentry/do_sys_openat2")
int BPF_PROG(open_fentry, int dfd, const char *filename, void *how)
{
    count_open();
    return 0;
}

SEC("kprobe/do_sys_openat2")
int open_kprobe(struct pt_regs *ctx)
{
    count_open();
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int open_tracepoint(void *ctx)
{
    count_open();
    return 0;
}

// A target no kernel has: loading fails with ESRCH, and the error must name it.
SEC("fentry/bpfco_loader_no_such_function")
int BPF_PROG(fentry_missing_target)
{
    return 0;
}

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file)
{
    return 0;
}

// Sections that name no target, or kinds the generic attach() cannot attach alone.
SEC("kprobe")
int kprobe_no_target(struct pt_regs *ctx) { return 0; }

SEC("uprobe")
int uprobe_no_target(struct pt_regs *ctx) { return 0; }

SEC("usdt")
int usdt_no_target(struct pt_regs *ctx) { return 0; }

SEC("tracepoint")
int tracepoint_no_target(void *ctx) { return 0; }

SEC("raw_tp")
int raw_tp_no_target(void *ctx) { return 0; }

SEC("cgroup_skb/ingress")
int on_cgroup_skb(struct __sk_buff *skb) { return 1; }

SEC("perf_event")
int on_perf_event(void *ctx) { return 0; }

SEC("socket")
int on_socket(struct __sk_buff *skb) { return 0; }

SEC("tc")
int on_tc(struct __sk_buff *skb) { return 0; }

SEC("xdp")
int on_xdp(struct xdp_md *ctx) { return XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";
