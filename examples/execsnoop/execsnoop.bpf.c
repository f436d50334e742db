// execsnoop: one event per execve, with its filename (from entry) and result (from exit).
// Every filter is a const volatile global that user space sets before load.
#include <bpfco/common.bpf.h>

/* The C++ side takes this struct from the header generated from the object's BTF
   (execsnoop.bpf.types.hpp): it is declared once, here. */
struct exec_event {
    __u64 ts_ns;   /* CLOCK_MONOTONIC at the exec's return */
    __u32 pid;
    __u32 ppid;
    __u32 uid;
    __s32 retval;  /* 0, or -errno when the exec failed */
    char comm[16]; /* after the exec: the new program's name */
    char filename[256];
};

const volatile __u32 targ_uid = (__u32)-1;  /* -1: every uid */
const volatile char targ_comm[16] = {};     /* empty: every command */

/* The filename at entry, by thread, until the exec returns. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, struct exec_event);
} pending SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");
BPFCO_MAP_RECORD(events, exec_event);

__u64 lost = 0;  /* ring full or pending map full: counted, reported at exit */

static const struct exec_event empty = {};

SEC("tracepoint/syscalls/sys_enter_execve")
int execsnoop_enter(struct trace_event_raw_sys_enter *ctx)
{
    __u32 uid = (__u32)bpf_get_current_uid_gid();
    if (targ_uid != (__u32)-1 && uid != targ_uid)
        return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    if (bpf_map_update_elem(&pending, &tid, &empty, BPF_ANY)) {
        __sync_fetch_and_add(&lost, 1);
        return 0;
    }
    struct exec_event *e = bpf_map_lookup_elem(&pending, &tid);
    if (!e)
        return 0;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    e->pid = bpfco_current_pid();
    e->ppid = BPF_CORE_READ(task, real_parent, tgid);
    e->uid = uid;
    bpf_probe_read_user_str(e->filename, sizeof e->filename, (const char *)ctx->args[0]);
    return 0;
}

static __always_inline int comm_matches(const char *comm)
{
    if (targ_comm[0] == 0)
        return 1;
    for (int i = 0; i < 16; i++) {
        if (comm[i] != targ_comm[i])
            return 0;
        if (comm[i] == 0)
            return 1;
    }
    return 1;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execsnoop_exit(struct trace_event_raw_sys_exit *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct exec_event *e = bpf_map_lookup_elem(&pending, &tid);
    if (!e)
        return 0;
    e->retval = (__s32)ctx->ret;
    e->ts_ns = bpf_ktime_get_ns();
    bpf_get_current_comm(e->comm, sizeof e->comm);
    if (comm_matches(e->comm)) {
        struct exec_event *out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
        if (out) {
            __builtin_memcpy(out, e, sizeof(*out));
            bpf_ringbuf_submit(out, 0);
        } else {
            __sync_fetch_and_add(&lost, 1);
        }
    }
    bpf_map_delete_elem(&pending, &tid);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
