/* Shared by getppid_count.bpf.c and consumer.cpp: one declaration for both sides. */
#pragma once

#include <bpfco/types.h>

struct getppid_stats {
    bpfco_u64 calls;
    bpfco_u32 last_pid;
    bpfco_u32 last_tid;
};
