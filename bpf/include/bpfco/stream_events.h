/* Records the stream tests and benches send from BPF to user space (shared by BPF C and C++). */
#pragma once

#ifdef __BPF__
#include "vmlinux.h"
typedef __u32 bpfco_u32;
typedef __u64 bpfco_u64;
#else
#include <cstdint>
typedef std::uint32_t bpfco_u32;
typedef std::uint64_t bpfco_u64;
#endif

/* 64 bytes: the record size the benches compare. */
struct bpfco_seq_event {
    bpfco_u64 seq;        /* 0, 1, 2, ... per program */
    bpfco_u64 ktime_ns;   /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) at emission */
    bpfco_u32 pid;
    bpfco_u32 cpu;
    bpfco_u64 pad[5];
};
