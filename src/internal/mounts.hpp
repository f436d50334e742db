// The one place that mounts pseudo filesystems: libbpf attaches tracepoints and legacy kprobes
// through tracefs and pins under bpffs, and minimal systems (containers, initramfs) may have
// neither mounted.
#pragma once

namespace bpfco::detail {

/// Makes sure a pseudo filesystem is mounted at `where` (tracefs, debugfs, bpf); false if it is
/// missing and mounting failed (no privilege).
bool ensure_mounted(const char* fstype, const char* where);
inline bool ensure_tracefs() { return ensure_mounted("tracefs", "/sys/kernel/tracing"); }
inline bool ensure_bpffs() { return ensure_mounted("bpf", "/sys/fs/bpf"); }

}  // namespace bpfco::detail
