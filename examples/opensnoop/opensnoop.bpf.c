// opensnoop: one event per openat, with its path (from entry) and fd or error (from exit).
// Every filter is a const volatile global that user space sets before load.
#include <bpfco/common.bpf.h>

/* The C++ side takes this struct from the header generated from the object's BTF
   (opensnoop.bpf.types.hpp): it is declared once, here. */
struct open_event {
    __u64 ts_ns;
    __u32 pid;
    __u32 uid;
    __s32 ret;     /* the fd, or -errno */
    __s32 flags;   /* open(2) flags */
    char comm[16];
    char path[256];
};

const volatile __u32 targ_pid = 0;          /* 0: every process */
const volatile __u32 targ_uid = (__u32)-1;  /* -1: every uid */
const volatile bool targ_failed = false;    /* only opens that failed */
const volatile char targ_comm[16] = {};     /* empty: every command */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, struct open_event);
} pending SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");
BPFCO_MAP_RECORD(events, open_event);

__u64 lost = 0;  /* ring full or pending map full: counted, reported at exit */

static const struct open_event empty = {};

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

SEC("tracepoint/syscalls/sys_enter_openat")
int opensnoop_enter(struct trace_event_raw_sys_enter *ctx)
{
    __u32 pid = bpfco_current_pid();
    __u32 uid = (__u32)bpf_get_current_uid_gid();
    if ((targ_pid && pid != targ_pid) || (targ_uid != (__u32)-1 && uid != targ_uid))
        return 0;
    char comm[16];
    bpf_get_current_comm(comm, sizeof comm);
    if (!comm_matches(comm))
        return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    if (bpf_map_update_elem(&pending, &tid, &empty, BPF_ANY)) {
        __sync_fetch_and_add(&lost, 1);
        return 0;
    }
    struct open_event *e = bpf_map_lookup_elem(&pending, &tid);
    if (!e)
        return 0;
    e->pid = pid;
    e->uid = uid;
    e->flags = (__s32)ctx->args[2];
    __builtin_memcpy(e->comm, comm, sizeof comm);
    bpf_probe_read_user_str(e->path, sizeof e->path, (const char *)ctx->args[1]);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int opensnoop_exit(struct trace_event_raw_sys_exit *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct open_event *e = bpf_map_lookup_elem(&pending, &tid);
    if (!e)
        return 0;
    e->ret = (__s32)ctx->ret;
    e->ts_ns = bpf_ktime_get_ns();
    if (!targ_failed || e->ret < 0) {
        struct open_event *out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
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
