/* Shared by bpf/tracing_test.bpf.c and tests/test_tracing.cpp: the programs' one .bss variable
 * and the user ring buffer's record. */
#pragma once

#ifdef __cplusplus
#include <cstdint>
typedef std::uint32_t tracing_u32;
typedef std::uint64_t tracing_u64;
#else
typedef __u32 tracing_u32;
typedef __u64 tracing_u64;
#endif

struct tracing_test_state {
    tracing_u32 target_pid;   /* set by the test after load */
    tracing_u32 pad;
    tracing_u64 usdt_calls;   /* bpfco_test:fire hits */
    tracing_u64 usdt_sum;     /* sum of its first argument */
    tracing_u64 usdt_bad;     /* hits whose arguments or cookie were not what the test passed */
    tracing_u64 urb_drained;  /* user ring buffer records consumed */
    tracing_u64 urb_sum;      /* sum of their values */
    tracing_u64 urb_bad;      /* records out of sequence or of the wrong size */
    tracing_u64 printk_seq;   /* bpf_printk lines written */
};

struct tracing_urb_record {
    tracing_u64 seq;
    tracing_u64 value;
};

/* The USDT probe's second argument is the first times this, so a mix-up of arguments shows. */
#define TRACING_USDT_FACTOR 0x100000001ull
#define TRACING_USDT_COOKIE 0xc0ffeeull
