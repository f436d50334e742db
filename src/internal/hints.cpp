#include "internal/hints.hpp"

#include <bpfco/loader/features.hpp>

#include <bpf/libbpf.h>

#include <linux/capability.h>

#include <array>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bpfco {

namespace detail {
std::uint64_t effective_capabilities() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("CapEff:")) return std::stoull(line.substr(7), nullptr, 16);
    return 0;
}

std::string missing_capabilities() {
    // Index = capability number (linux/capability.h); the kernel's last one is in
    // /proc/sys/kernel/cap_last_cap.
    static constexpr std::array<std::string_view, 41> names = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    };
    int last = static_cast<int>(names.size()) - 1;
    if (std::ifstream f("/proc/sys/kernel/cap_last_cap"); f) f >> last;
    const auto have = effective_capabilities();
    std::vector<std::string> missing;
    for (int cap = 0; cap <= last && cap < 64; ++cap)
        if (!((have >> cap) & 1u))
            missing.push_back(cap < static_cast<int>(names.size()) ? std::string(names[cap])
                                                                   : fmt::format("capability {}", cap));
    return fmt::format("{}", fmt::join(missing, ", "));
}

std::string missing_feature_hint(const bpf_program* prog) {
    const std::string_view sec = bpf_program__section_name(prog);
    switch (bpf_program__type(prog)) {
    case BPF_PROG_TYPE_KPROBE:
        if ((sec.starts_with("kprobe") || sec.starts_with("kretprobe") || sec.starts_with("ksyscall") ||
             sec.starts_with("kretsyscall")) &&
            !features::kprobes())
            return std::string(no_kprobes_hint);
        break;
    case BPF_PROG_TYPE_TRACING: {
        const auto at = bpf_program__expected_attach_type(prog);
        if (at == BPF_TRACE_ITER) {
            const auto slash = sec.find('/');
            if (slash == std::string_view::npos) break;
            if (auto why = features::iterator_refusal(sec.substr(slash + 1)); !why.empty())
                return why + "; switch the program off with set_autoload(false) before load";
            break;
        }
        if ((at == BPF_TRACE_FENTRY || at == BPF_TRACE_FEXIT || at == BPF_MODIFY_RETURN) && !features::fentry())
            return fmt::format("this kernel cannot run fentry/fexit programs: no BPF trampolines; switch the "
                               "program off with set_autoload(false) before load, or use {} instead",
                               features::kprobes() ? "a kprobe" : "a tracepoint");
        break;
    }
    case BPF_PROG_TYPE_LSM:
        if (!features::fentry())
            return "this kernel cannot run LSM programs: they need BPF trampolines, which it lacks";
        if (!features::lsm()) {
            const auto active = features::active_lsms();
            return fmt::format("LSM programs need 'bpf' in the lsm= boot parameter (active LSMs: {})",
                               active.empty() ? "unknown: /sys/kernel/security/lsm is unreadable" : active);
        }
        break;
    case BPF_PROG_TYPE_STRUCT_OPS:
        if (!features::fentry())
            return "this kernel cannot run struct_ops programs: they need BPF trampolines, which it lacks";
        break;
    case BPF_PROG_TYPE_EXT:
        if (!features::fentry())
            return "this kernel cannot run freplace programs: they need BPF trampolines, which it lacks";
        break;
    default:
        break;
    }
    return {};
}

std::string attach_call_hint(const bpf_program* prog) {
    const std::string_view sec = bpf_program__section_name(prog);
    const bool no_target = sec.find('/') == std::string_view::npos;
    switch (bpf_program__type(prog)) {
    case BPF_PROG_TYPE_XDP: return "use attach_xdp(interface)";
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT: return "use attach_tcx(interface, direction) or attach_tc(...)";
    case BPF_PROG_TYPE_PERF_EVENT: return "use attach_perf_event(perf_fd)";
    case BPF_PROG_TYPE_SOCKET_FILTER: return "use attach_socket_filter(socket)";
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_CGROUP_SOCK:
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
    case BPF_PROG_TYPE_CGROUP_SYSCTL:
    case BPF_PROG_TYPE_CGROUP_DEVICE:
    case BPF_PROG_TYPE_SOCK_OPS: return "use attach_cgroup(path, attach_type)";
    case BPF_PROG_TYPE_KPROBE:
        if (sec.starts_with("usdt")) return "a USDT probe needs its binary, provider and name: use attach_usdt(binary, provider, name)";
        if (!no_target) break;
        if (sec.starts_with("kretprobe")) return "the section names no function: use attach_kretprobe(function)";
        if (sec.starts_with("kprobe")) return "the section names no function: use attach_kprobe(function)";
        if (sec.starts_with("uprobe") || sec.starts_with("uretprobe"))
            return "the section names no binary: use attach_uprobe(binary, symbol)";
        break;
    case BPF_PROG_TYPE_TRACEPOINT:
        if (no_target) return "the section names no tracepoint: use attach_tracepoint(category, name)";
        break;
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
        if (no_target) return "the section names no tracepoint: use attach_raw_tracepoint(name)";
        break;
    default:
        break;
    }
    return {};
}

}  // namespace detail

std::string privilege_hint(int errnum) {
    if (errnum != EPERM) return {};
    using detail::has_capability;
    // CAP_SYS_ADMIN covers what CAP_BPF and CAP_PERFMON allow (and is all that kernels before 5.8
    // know); CAP_NET_ADMIN is separate.
    const bool admin = has_capability(CAP_SYS_ADMIN);
    std::vector<std::string_view> missing;
    if (!admin && !has_capability(CAP_BPF)) missing.push_back("CAP_BPF");
    if (!admin && !has_capability(CAP_PERFMON)) missing.push_back("CAP_PERFMON");
    if (!has_capability(CAP_NET_ADMIN)) missing.push_back("CAP_NET_ADMIN");
    if (missing.empty()) {
        const auto others = detail::missing_capabilities();
        if (others.empty())
            return " (this process has every capability, so capabilities are not the cause: the kernel refuses "
                   "this program or attachment for another reason, such as a missing feature, its build or a "
                   "security module)";
        return fmt::format(" (this process has CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN but lacks {}; the kernel "
                           "does not say which check refused: a missing feature, its build, a security module "
                           "or one of those capabilities)",
                           others);
    }
    return fmt::format(" (loading BPF needs CAP_BPF with CAP_PERFMON for tracing, CAP_NET_ADMIN for XDP/TC, "
                       "or root; this process lacks {}; check also kernel.unprivileged_bpf_disabled)",
                       fmt::join(missing, ", "));
}

}  // namespace bpfco
