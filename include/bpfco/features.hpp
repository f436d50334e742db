// What this kernel supports, so a program can choose what to load (program::set_autoload) before
// loading. Each probe is cheap, needs no more privilege than the feature itself, and is cached.
#pragma once

#include <string>

namespace bpfco::features {

bool btf();            ///< kernel BTF at /sys/kernel/btf/vmlinux (CO-RE)
bool kprobes();        ///< kprobe/kretprobe attach (CONFIG_KPROBES)
bool fentry();         ///< fentry/fexit trampolines (loads and attaches a probe program)
bool ring_buffer();    ///< BPF_MAP_TYPE_RINGBUF
bool batch_ops();      ///< BPF_MAP_LOOKUP_BATCH on hash maps
bool xdp();            ///< XDP programs
bool tc();             ///< TC (sched_cls) programs
bool perf_event();     ///< perf_event programs

/// One line per feature ("kprobes: no"), for logs and --help output.
std::string summary();

}  // namespace bpfco::features
