// Globals and checked layouts (tests/test_contract.cpp): a getppid tracepoint filtered by a
// .rodata pid, counting in .bss, stepping by a .data value, emitting a shared struct.
#include <bpfco/common.bpf.h>
#include <bpfco/contract_test.h>

const volatile __u32 targ_pid = 0;
const volatile __u32 ports[8] = {};
const volatile __u32 custom_ro SEC(".rodata.custom") = 7;

__u64 hits = 0;                        /* .bss */
__u64 step = 1;                        /* .data: written by user space after load */
__u64 stepped = 0;                     /* .bss: the sum of step over the hits */
__u64 custom_hits SEC(".data.custom") = 0;
struct bpfco_contract_event last_event = {};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, struct bpfco_contract_event);
} by_pid SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int contract_getppid(void *ctx)
{
    __u32 pid = bpfco_current_pid();
    if (pid != targ_pid)
        return 0;
    __u64 seq = __sync_fetch_and_add(&hits, 1);
    __sync_fetch_and_add(&stepped, step);
    __sync_fetch_and_add(&custom_hits, 1);
    last_event.seq = seq;
    last_event.pid = pid;
    last_event.step = step;
    bpf_get_current_comm(last_event.comm, sizeof last_event.comm);
    bpf_map_update_elem(&by_pid, &pid, &last_event, BPF_ANY);
    bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &last_event, sizeof last_event);
    struct bpfco_contract_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    *e = last_event;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
