#include <bpfco/loader/features.hpp>

#include "internal/hints.hpp"
#include "internal/libbpf_log.hpp"
#include "internal/mounts.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/filter.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace bpfco::features {

namespace {
bool prog_type(bpf_prog_type t) {
    detail::libbpf_capture quiet;
    return libbpf_probe_bpf_prog_type(t, nullptr) == 1;
}
}  // namespace

bool btf() {
    static const bool v = ::access("/sys/kernel/btf/vmlinux", R_OK) == 0;
    return v;
}

bool kprobes() {
    // The kprobe PMU is how libbpf attaches; tracefs kprobe_events is its legacy fallback.
    static const bool v = [] {
        if (::access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0) return true;
        detail::ensure_tracefs();
        return ::access("/sys/kernel/tracing/kprobe_events", F_OK) == 0;
    }();
    return v;
}

bool fentry() {
    // The verifier accepts fentry programs on kernels that cannot attach them (no trampoline),
    // so the probe loads and attaches a two-instruction program for real.
    static const bool v = [] {
        detail::libbpf_capture quiet;
        int btf_id = libbpf_find_vmlinux_btf_id("do_sys_openat2", BPF_TRACE_FENTRY);
        if (btf_id < 0) return false;
        const bpf_insn insns[] = {
            {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
            {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
        };
        LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
                    .attach_btf_id = static_cast<std::uint32_t>(btf_id));
        int prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "bpfco_fentry", "GPL", insns, 2, &opts);
        if (prog < 0) return false;
        int l = bpf_link_create(prog, 0, BPF_TRACE_FENTRY, nullptr);
        bool ok = l >= 0;
        if (ok) ::close(l);
        ::close(prog);
        return ok;
    }();
    return v;
}

bool ring_buffer() {
    static const bool v = [] {
        detail::libbpf_capture quiet;
        return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
    }();
    return v;
}

bool user_ring_buffer() {
    static const bool v = [] {
        detail::libbpf_capture quiet;
        return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_USER_RINGBUF, nullptr) == 1;
    }();
    return v;
}

bool uprobes() {
    static const bool v = ::access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
    return v;
}

bool batch_ops() {
    static const bool v = [] {
        int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bpfco_batch", 4, 4, 1, nullptr);
        if (fd < 0) return false;
        std::uint32_t keys[1], values[1], count = 1, out = 0;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int r = bpf_map_lookup_batch(fd, nullptr, &out, keys, values, &count, &opts);
        bool ok = r == 0 || errno == ENOENT;  // ENOENT: empty map, batch op understood
        ::close(fd);
        return ok;
    }();
    return v;
}

bool xdp() {
    static const bool v = prog_type(BPF_PROG_TYPE_XDP);
    return v;
}
bool tc() {
    static const bool v = prog_type(BPF_PROG_TYPE_SCHED_CLS);
    return v;
}
bool tracepoint(std::string_view category, std::string_view name) {
    detail::ensure_tracefs();
    return ::access(fmt::format("/sys/kernel/tracing/events/{}/{}", category, name).c_str(), F_OK) == 0;
}

bool kernel_function(std::string_view function) {
    detail::libbpf_capture quiet;
    return libbpf_find_vmlinux_btf_id(std::string(function).c_str(), BPF_TRACE_FENTRY) > 0;
}

std::string iterator_refusal(std::string_view target) {
    detail::libbpf_capture quiet;
    const std::string t(target);
    const int btf_id = libbpf_find_vmlinux_btf_id(t.c_str(), BPF_TRACE_ITER);
    if (btf_id < 0)
        return fmt::format("this kernel has no iter/{} programs: bpf_iter_{} is not in its BTF", t, t);
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    char log[1024] = {};
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_ITER,
                .attach_btf_id = static_cast<std::uint32_t>(btf_id), .log_level = 1, .log_size = sizeof log,
                .log_buf = log);
    const int prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "bpfco_iter", "GPL", insns, 2, &opts);
    if (prog >= 0) {
        ::close(prog);
        return {};
    }
    const int e = errno;
    // The verifier ends its log with its statistics even when a check before the first
    // instruction fails; a log that is only those, or empty, gives no reason.
    const std::string_view text(log);
    std::string why;
    if (text.starts_with("processed 0 insns"))
        why = ", before verifying any instruction, without saying why";
    else if (text.empty())
        why = ", before the verifier ran, without saying why";
    else
        why = fmt::format(": {}", text.substr(0, text.find('\n')));
    const auto missing = detail::missing_capabilities();
    // What the vm suite measured (tests/test_vm_attach.cpp): the stock kernels load it for a
    // process without CAP_SYS_RESOURCE, booted with lockdown=integrity too.
    const std::string_view not_caps =
        e == EPERM ? "; Debian's 6.1 and 6.12 load it without CAP_SYS_RESOURCE, also under lockdown=integrity, "
                     "so neither explains the refusal: it comes from this kernel, its version or its build"
                   : "";
    return fmt::format("this kernel refuses iter/{} programs: {}{} (measured with a minimal one, by a process that {}{})",
                       t, std::strerror(e), why, missing.empty() ? "has every capability" : "lacks " + missing,
                       not_caps);
}

std::string active_lsms() {
    detail::ensure_mounted("securityfs", "/sys/kernel/security");
    std::ifstream f("/sys/kernel/security/lsm");
    std::string list;
    std::getline(f, list);
    return list;
}

bool lsm() {
    static const bool v = [] {
        const std::string list = "," + active_lsms() + ",";
        return fentry() && list.find(",bpf,") != std::string::npos;
    }();
    return v;
}

bool perf_event() {
    static const bool v = prog_type(BPF_PROG_TYPE_PERF_EVENT);
    return v;
}

std::string summary() {
    auto yn = [](bool b) { return b ? "yes" : "no"; };
    return fmt::format("btf: {}\nkprobes: {}\nuprobes: {}\nfentry: {}\nring_buffer: {}\nuser_ring_buffer: {}\n"
                       "batch_ops: {}\nxdp: {}\ntc: {}\nperf_event: {}\nlsm: {}\niter/bpf_map_elem: {}\n",
                       yn(btf()), yn(kprobes()), yn(uprobes()), yn(fentry()), yn(ring_buffer()),
                       yn(user_ring_buffer()), yn(batch_ops()), yn(xdp()), yn(tc()), yn(perf_event()), yn(lsm()),
                       yn(iterator_refusal("bpf_map_elem").empty()));
}

}  // namespace bpfco::features
