/* One open, from BPF to user space (examples/opensnoop). */
#pragma once

#include <bpfco/types.h>

struct open_event {
    bpfco_u64 ts_ns;
    bpfco_u32 pid;
    bpfco_u32 uid;
    bpfco_s32 ret;     /* the fd, or -errno */
    bpfco_s32 flags;   /* open(2) flags */
    char comm[16];
    char path[256];
};
