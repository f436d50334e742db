/* Ring buffer output that never drops silently.
 *
 * bpf_ringbuf_reserve() returns NULL when the ring is full, and the record is simply gone. The
 * helpers below count every such failure in a per-CPU array the program declares with
 * BPFCO_RINGBUF_DROPS(name); user space sums it with bpfco::read_drop_counter(map), so that
 * produced == received + dropped holds exactly.
 *
 *     BPFCO_RINGBUF_DROPS(drops);
 *     struct event *e = bpfco_ringbuf_reserve(&events, sizeof(*e), &drops);
 *     if (!e)
 *         return 0;               // counted
 *     ...
 *     bpf_ringbuf_submit(e, 0);
 */
#pragma once

#include <bpfco/common.bpf.h>

/* A per-CPU u64 drop counter (key 0): per-CPU, so counting costs no atomic operation. */
#define BPFCO_RINGBUF_DROPS(name)                      \
    struct {                                           \
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);       \
        __uint(max_entries, 1);                        \
        __type(key, __u32);                            \
        __type(value, __u64);                          \
    } name SEC(".maps")

static __always_inline void bpfco_count_drop(void *drops)
{
    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(drops, &zero);
    if (n)
        *n += 1;
}

/* bpf_ringbuf_reserve() that counts a failure in `drops`. `size` must be a constant (the
 * verifier checks reservations statically). */
#define bpfco_ringbuf_reserve(ring, size, drops)                   \
    ({                                                             \
        void *__rec = bpf_ringbuf_reserve((ring), (size), 0);      \
        if (!__rec)                                                \
            bpfco_count_drop(drops);                               \
        __rec;                                                     \
    })

/* bpf_ringbuf_output() (a copy instead of a reservation) that counts a failure in `drops`. */
static __always_inline long bpfco_ringbuf_output(void *ring, void *data, __u64 size, __u64 flags, void *drops)
{
    long err = bpf_ringbuf_output(ring, data, size, flags);
    if (err)
        bpfco_count_drop(drops);
    return err;
}
