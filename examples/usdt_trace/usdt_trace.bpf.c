// The probe behind examples/usdt_trace: each hit of the USDT probe is logged with its first
// three arguments (as integers) through bpfco_log, formatted in user space.
#include <bpfco/common.bpf.h>
#include <bpfco/log.bpf.h>
#include <bpf/usdt.bpf.h>

SEC("usdt")
int trace_probe(struct pt_regs *ctx)
{
    long a0 = 0, a1 = 0, a2 = 0;
    int n = bpf_usdt_arg_cnt(ctx);
    if (n > 0)
        bpf_usdt_arg(ctx, 0, &a0);
    if (n > 1)
        bpf_usdt_arg(ctx, 1, &a1);
    if (n > 2)
        bpf_usdt_arg(ctx, 2, &a2);
    char comm[16];
    bpf_get_current_comm(comm, sizeof(comm));
    bpfco_log(BPFCO_LOG_INFO, "{}[{}] args={} {} {} {}", comm, bpfco_current_pid(), n, a0, a1, a2);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
