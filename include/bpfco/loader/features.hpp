// What this kernel supports, so a program can choose what to load (program::set_autoload) before
// loading. Each probe is cheap and needs no more privilege than the feature itself. The yes/no
// features are probed once and cached; the lookups by name (tracepoint, kernel_function,
// iterator_refusal, active_lsms) check on every call. Every function is safe to call from several threads.
#pragma once

#include <string>
#include <string_view>

namespace bpfco::features {

bool btf();            ///< kernel BTF at /sys/kernel/btf/vmlinux (CO-RE)
bool kprobes();        ///< kprobe/kretprobe attach (CONFIG_KPROBES)
bool fentry();         ///< fentry/fexit trampolines (loads and attaches a probe program)
bool ring_buffer();    ///< BPF_MAP_TYPE_RINGBUF
bool user_ring_buffer();  ///< BPF_MAP_TYPE_USER_RINGBUF (user space writes, BPF drains)
bool uprobes();        ///< uprobe/USDT attach (the uprobe PMU)
bool batch_ops();      ///< BPF_MAP_LOOKUP_BATCH on hash maps
bool xdp();            ///< XDP programs
bool tc();             ///< TC (sched_cls) programs
bool perf_event();     ///< perf_event programs
bool lsm();            ///< BPF LSM programs can run: trampolines, and `bpf` in the active LSM list
                       ///< (the lsm= boot parameter)

/// The tracepoint `category/name` exists (under tracefs events/).
bool tracepoint(std::string_view category, std::string_view name);
/// `function` is in the kernel's BTF (vmlinux), so fentry/fexit/LSM programs can target it.
bool kernel_function(std::string_view function);
/// Why this kernel refuses `iter/<target>` programs ("bpf_map_elem", "task"), measured by loading
/// a minimal one: the target missing from its BTF, or the errno and at which stage, with the
/// capabilities this process lacks; empty when it loads. Some kernels take iter/task but refuse
/// the map-element iterators (bpf_map_elem, bpf_sk_storage_map, sockmap) with EPERM.
std::string iterator_refusal(std::string_view target);
/// The active LSMs, comma-separated (/sys/kernel/security/lsm); empty when unreadable.
std::string active_lsms();

/// One line per feature ("kprobes: no"), for logs and --help output.
std::string summary();

}  // namespace bpfco::features
