// A sampling CPU profiler: attached to a perf event on every CPU, it counts samples per
// (pid, kernel stack, user stack, comm). Used by examples/profile and the analysis tests.
#include <bpfco/common.bpf.h>
#include <bpfco/profile.h>

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __uint(value_size, PROFILE_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 40960);
    __type(key, struct profile_key);
    __type(value, __u64);
} counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct profile_config);
} settings SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, PROFILE_TOTALS);
    __type(key, __u32);
    __type(value, __u64);
} totals SEC(".maps");

static __always_inline void add_total(__u32 slot)
{
    __u64 *n = bpf_map_lookup_elem(&totals, &slot);
    if (n)
        *n += 1; /* per-CPU: no other writer */
}

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
    __u32 zero = 0;
    struct profile_config *cfg = bpf_map_lookup_elem(&settings, &zero);
    if (!cfg)
        return 0;
    __u32 pid = bpfco_current_pid();
    if (cfg->pid && pid != cfg->pid)
        return 0;
    add_total(PROFILE_SAMPLES);

    struct profile_key key = {};
    key.pid = pid;
    key.kernel_stack = cfg->kernel_stacks ? bpf_get_stackid(ctx, &stacks, 0) : PROFILE_STACK_SKIPPED;
    key.user_stack = cfg->user_stacks ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK)
                                      : PROFILE_STACK_SKIPPED;
    bpf_get_current_comm(key.comm, sizeof key.comm);

    __u64 *n = bpf_map_lookup_elem(&counts, &key);
    if (!n) {
        __u64 one = 1;
        if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST) == 0)
            return 0;
        /* Another CPU inserted the key first, or the map is full. */
        n = bpf_map_lookup_elem(&counts, &key);
    }
    if (n)
        __sync_fetch_and_add(n, 1);
    else
        add_total(PROFILE_DROPPED);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
