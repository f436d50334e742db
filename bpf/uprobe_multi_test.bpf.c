// uprobe_multi for tests/test_tracing.cpp. Its own object: libbpf < 1.3 does not know the
// "uprobe.multi" section and would refuse to open an object holding it.
#include <bpfco/common.bpf.h>

struct {
    __u32 target_pid;
    __u64 calls;
} bss;

SEC("uprobe.multi")
int count_targets(struct pt_regs *ctx)
{
    if (bpfco_current_pid() == bss.target_pid)
        __sync_fetch_and_add(&bss.calls, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
