// The README's program: every exec (of one uid, set before load) as a ring buffer record, and
// a per-CPU count of them.
// The C++ side takes struct exec_event, targ_uid and the events map's record type from the
// header generated from this object's BTF (readme.bpf.types.hpp): nothing is declared twice.
#include <bpfco/common.bpf.h>

struct exec_event {
    __u32 pid;
    __u32 uid;
    char comm[16];
};

const volatile __u32 targ_uid = (__u32)-1; /* -1: every uid */

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} events SEC(".maps");
BPFCO_MAP_RECORD(events, exec_event); /* its records, for the generated header and the check */

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} execs SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
    __u32 uid = (__u32)bpf_get_current_uid_gid();
    if (targ_uid != (__u32)-1 && uid != targ_uid)
        return 0;
    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(&execs, &zero);
    if (n)
        *n += 1;
    struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = bpfco_current_pid();
    e->uid = uid;
    bpf_get_current_comm(e->comm, sizeof e->comm);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
