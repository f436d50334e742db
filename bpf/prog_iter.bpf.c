// program_sampler's snapshot (src/analysis/kernel_objects.cpp): one fixed record per program on the
// host, so a snapshot is a few read()s of an iterator fd instead of four bpf() calls per program.
#include <bpfco/common.bpf.h>

struct prog_iter_record {
    __u32 id;
    __u32 type;
    __u64 run_count;    // summed over CPUs, as BPF_OBJ_GET_INFO_BY_FD's run_cnt
    __u64 run_time_ns;  // likewise run_time_ns
    __u64 load_time;    // ns since boot: tells a reused id from the same program
    char name[16];
};
BPFCO_RECORD_TYPE(prog_iter_record);

// libbpf_num_possible_cpus(), set before load: the verifier then knows the loop's bound.
const volatile __u32 nr_cpus = 1;

// prog->stats is per-CPU, but a kernel built by gcc has no __percpu tags in its BTF, so the verifier
// refuses bpf_per_cpu_ptr(prog->stats, cpu), and without CONFIG_KALLSYMS_ALL no per-CPU variable
// (this_cpu_off, __per_cpu_offset) resolves as a ksym. A per-CPU array's element gives each CPU's
// offset instead: its address on `cpu` minus the per-CPU pointer the array holds.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} cpu_offsets SEC(".maps");

// A pointer's value as a number: the verifier turns no pointer into a scalar, but lets a process
// with CAP_PERFMON read the pointer's stack slot.
static __always_inline __u64 address_of(const void *p)
{
    __u64 a = 0;
    bpf_probe_read_kernel(&a, sizeof(a), &p);
    return a;
}

SEC("iter/bpf_prog")
int bpfco_sampler(struct bpf_iter__bpf_prog *ctx)
{
    struct bpf_prog *prog = ctx->prog;
    if (!prog)
        return 0;
    struct prog_iter_record r = {};
    struct bpf_prog_aux *aux = BPF_CORE_READ(prog, aux);
    r.id = BPF_CORE_READ(aux, id);
    r.type = BPF_CORE_READ(prog, type);
    r.load_time = BPF_CORE_READ(aux, load_time);
    bpf_probe_read_kernel(r.name, sizeof(r.name), aux->name);
    __u64 stats = (__u64)BPF_CORE_READ(prog, stats);
    struct bpf_array *offsets = (void *)address_of(&cpu_offsets);
    __u64 base = 0;
    bpf_core_read(&base, sizeof(base), &offsets->pptrs[0]);
    __u32 zero = 0;
    for (__u32 cpu = 0; cpu < nr_cpus; cpu++) {
        void *element = bpf_map_lookup_percpu_elem(&cpu_offsets, &zero, cpu);
        if (!element)
            break;
        struct bpf_prog_stats *s = (void *)(stats + address_of(element) - base);
        __u64 cnt = 0, nsecs = 0;
        bpf_core_read(&cnt, sizeof(cnt), &s->cnt);
        bpf_core_read(&nsecs, sizeof(nsecs), &s->nsecs);
        r.run_count += cnt;
        r.run_time_ns += nsecs;
    }
    bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
