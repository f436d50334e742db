// Generated types and the record contract (tests/test_loader_types.cpp): a record whose C++
// twins drift without changing size, globals of several kinds, two maps whose records
// BPFCO_MAP_RECORD declares. The generated header (gentypes_test.bpf.types.hpp) is the C++ side.
#include <bpfco/common.bpf.h>

/* 22 bytes of members, 24 with tail padding: dport can widen to 4 bytes at the same size. */
struct gt_event {
    __u64 ts;
    __s32 ret;
    float ratio;
    __u32 pid;
    __u16 dport;
};

/* What the generator must spell: an enum, a nested and a packed struct, an anonymous union, a
 * bit-field, a 2-D array, a pointer (a kernel address to user space). */
enum gt_color { GT_RED = 1, GT_GREEN = 2, GT_BLUE = 0x80000000u };
struct gt_inner {
    __u16 a;
    __u8 b;
} __attribute__((packed));
struct gt_mixed {
    enum gt_color color;
    struct gt_inner inner;
    union {
        __u32 as_u32;
        float as_float;
    };
    __u32 low : 4, high : 28;
    __s8 grid[2][3];
    void *where;
};

const volatile __u32 targ_pid = 0;
const volatile bool verbose = false;
const volatile char label[8] = {};
__u64 packets = 0;
__s64 balance = 0;
struct gt_event last = {}; /* a struct global: the skeleton names its type unqualified */
struct gt_mixed mixed = {};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");
BPFCO_MAP_RECORD(events, gt_event);

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");
BPFCO_MAP_RECORD(perf_events, gt_event);

/* A ring with no BPFCO_MAP_RECORD: its readers' as<T>() check a T named gt_event against the
 * struct BPFCO_RECORD_TYPE keeps, and any other T by size only. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} plain_events SEC(".maps");
BPFCO_RECORD_TYPE(gt_event);

SEC("tracepoint/syscalls/sys_enter_getppid")
int gentypes_getppid(void *ctx)
{
    __u32 pid = bpfco_current_pid();
    if (pid != targ_pid)
        return 0;
    __sync_fetch_and_add(&packets, 1);
    struct gt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->ts = bpf_ktime_get_ns();
    e->ret = -1;
    e->pid = pid;
    e->dport = 443;
    last = *e;
    bpf_ringbuf_submit(e, 0);
    /* The same record on the perf buffer (dropped by the kernel while no stream is open). */
    bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &last, sizeof(last));
    bpf_ringbuf_output(&plain_events, &last, sizeof(last), 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
