// No BTF-defined maps, no externs: libbpf does not need this object's .BTF, so the loader tests
// can corrupt it and check that the object still loads and attaches, as with libbpf. It counts
// getppid calls in .bss (an internal map, which needs no BTF).
#include <bpfco/common.bpf.h>

__u64 getppid_calls = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
    __sync_fetch_and_add(&getppid_calls, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
