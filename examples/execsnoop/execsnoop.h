/* One exec, from BPF to user space (examples/execsnoop). */
#pragma once

#include <bpfco/types.h>

struct exec_event {
    bpfco_u64 ts_ns;   /* CLOCK_MONOTONIC at the exec's return */
    bpfco_u32 pid;
    bpfco_u32 ppid;
    bpfco_u32 uid;
    bpfco_s32 retval;  /* 0, or -errno when the exec failed */
    char comm[16];     /* after the exec: the new program's name */
    char filename[256];
};
