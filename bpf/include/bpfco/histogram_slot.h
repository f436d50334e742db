/* Bucket math shared by BPF C (histogram.bpf.h) and C++ (its unit test includes this file to check
 * that both sides agree with bpfco::histogram). Plain C, no includes: the includer provides
 * __u32/__u64 (vmlinux.h in BPF, <linux/types.h> in user space). */
#pragma once

/* Log2 slot of v: 0 holds 0, slot k >= 1 holds [2^(k-1), 2^k), so a __u64 needs 65 slots.
 * A binary search over shifts: no loop for the verifier and no builtin the BPF backend lacks. */
static inline __u32 bpfco_log2_slot(__u64 v)
{
    __u32 r = 0;
    if (v >> 32) { v >>= 32; r += 32; }
    if (v >> 16) { v >>= 16; r += 16; }
    if (v >> 8) { v >>= 8; r += 8; }
    if (v >> 4) { v >>= 4; r += 4; }
    if (v >> 2) { v >>= 2; r += 2; }
    if (v >> 1) { v >>= 1; r += 1; }
    return r + (__u32)v; /* v is now 1, or 0 when it started as 0 */
}

/* Linear slot of v among `slots` buckets of width `step` starting at `min`; values outside are
 * clamped into the first or the last slot (so the last one reads as "and above"). */
static inline __u32 bpfco_linear_slot(__u64 v, __u64 min, __u64 step, __u32 slots)
{
    if (v < min || step == 0 || slots == 0)
        return 0;
    __u64 s = (v - min) / step;
    return s >= slots ? slots - 1 : (__u32)s;
}
