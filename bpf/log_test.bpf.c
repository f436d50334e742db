// BPF-side logging for tests/test_tracing.cpp: each getppid() by the test logs through three
// call sites with mixed argument types.
#include <bpfco/common.bpf.h>
#include <bpfco/log.bpf.h>

/* One struct, so that its layout is the test's (separate globals may be laid out in any order). */
struct {
    __u32 target_pid;
    __u64 produced; /* log calls made: received + dropped must equal it */
    __u64 calls;
} bss;

SEC("tp/syscalls/sys_enter_getppid")
int log_calls(void *ctx)
{
    if (bpfco_current_pid() != bss.target_pid)
        return 0;
    __u64 n = bss.calls++;
    char comm[16];
    bpf_get_current_comm(comm, sizeof(comm));
    bpfco_log(BPFCO_LOG_INFO, "call {} neg={} hex={:#x} comm={} lit={} byte={}", n, -(long)n, n * 3, comm, "fixed",
              (unsigned char)(n & 0xff));
    bss.produced++;
    if (n % 100 == 0) {
        bpfco_log(BPFCO_LOG_WARN, "hundred {:>4}", (int)(n / 100));
        bss.produced++;
    }
    if (n % 1000 == 999) {
        bpfco_log(BPFCO_LOG_DEBUG, "thousand done");
        bss.produced++;
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
