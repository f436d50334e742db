/* Histograms counted in BPF and read in C++ with bpfco::histogram::read_log2 / read_linear.
 *
 * The map is a BPF_MAP_TYPE_ARRAY (or PERCPU_ARRAY, cheaper under contention: user space sums the
 * CPUs) with __u32 keys and __u64 values, one entry per bucket:
 *
 *     struct {
 *         __uint(type, BPF_MAP_TYPE_ARRAY);
 *         __uint(max_entries, BPFCO_LOG2_SLOTS);
 *         __type(key, __u32);
 *         __type(value, __u64);
 *     } latency_ns SEC(".maps");
 *
 *     bpfco_hist_log2_add(&latency_ns, delta_ns, BPFCO_LOG2_SLOTS);
 *     bpfco_hist_linear_add(&sizes, len, 0, 64, 32);  // 32 buckets of 64 from 0
 *
 * Passing the map's max_entries as `slots` keeps every key in range: a log2 map smaller than 65
 * entries clamps large values into its last bucket. */
#pragma once

#include <bpfco/common.bpf.h>
#include <bpfco/histogram_slot.h>

/* Enough log2 slots for any __u64 value. */
#define BPFCO_LOG2_SLOTS 65

static __always_inline void bpfco_hist_add_slot(void *map, __u32 slot)
{
    __u64 *n = bpf_map_lookup_elem(map, &slot);
    if (n)
        __sync_fetch_and_add(n, 1);
}

static __always_inline void bpfco_hist_log2_add(void *map, __u64 value, __u32 slots)
{
    __u32 slot = bpfco_log2_slot(value);
    bpfco_hist_add_slot(map, slot < slots ? slot : slots - 1);
}

static __always_inline void bpfco_hist_linear_add(void *map, __u64 value, __u64 min, __u64 step,
                                                  __u32 slots)
{
    bpfco_hist_add_slot(map, bpfco_linear_slot(value, min, step, slots));
}
