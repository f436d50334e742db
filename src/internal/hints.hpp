// Hints that turn an errno into its likely cause, each from a fact checked at the time (the
// process's effective capabilities, the kernel's features, the active LSM list), never a guess.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct bpf_program;

namespace bpfco {

/// For EPERM: the BPF capabilities this process lacks; or, when it has them, that the kernel gave no
/// reason, with the other capabilities it lacks (capabilities are ruled out only when it lacks
/// none). Empty for other errnos. Starts with a space: "...: Operation not permitted (...)".
std::string privilege_hint(int errnum);

namespace detail {

/// Why kprobes cannot attach here (features::kprobes() is false).
inline constexpr std::string_view no_kprobes_hint =
    "this kernel has no kprobes: CONFIG_KPROBES is off; use a tracepoint or raw tracepoint instead";

/// What this kernel lacks to load or attach `prog` (kprobes, trampolines, `bpf` in lsm=), from
/// the features probed; empty when nothing is known to be missing. No parentheses.
std::string missing_feature_hint(const bpf_program* prog);
/// For a program whose section names no target, or whose kind the generic attach cannot do
/// alone: the call to use instead ("use attach_xdp(interface)"); else empty.
std::string attach_call_hint(const bpf_program* prog);

/// The capabilities missing from this process's effective set, by name ("CAP_SYS_RESOURCE"),
/// comma-separated; empty when it has every capability this kernel knows.
std::string missing_capabilities();

/// Effective capability bits of this process (CapEff in /proc/self/status).
std::uint64_t effective_capabilities();
inline bool has_capability(int cap) { return (effective_capabilities() >> cap) & 1u; }

}  // namespace detail
}  // namespace bpfco
