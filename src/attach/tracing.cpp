// The tracing attach types beyond single probes: USDT, kprobe_multi / uprobe_multi, LSM and
// iterators. libbpf does the work (USDT argument specs, symbol resolution); this file names the
// target in every error and says what the kernel or libbpf lacks.
#include <bpfco/loader/features.hpp>
#include <bpfco/loader/program.hpp>
#include <bpfco/maps/map.hpp>

#include "internal/libbpf_log.hpp"
#include "internal/link_access.hpp"
#include "internal/mounts.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace bpfco {

namespace {
// The kernel's internal ENOTSUPP, which BPF syscalls leak to user space (no libc name).
constexpr int enotsupp = 524;

result<link> wrap(const program& p, bpf_link* l, int e, std::string what, const detail::libbpf_capture& cap,
                  std::string_view hint = {}) {
    if (l) return detail::link_access::from_libbpf(l);
    if (e == 0) e = EINVAL;
    e = detail::portable_errno(e);
    if (!hint.empty()) what += fmt::format(" ({})", hint);
    auto err = p.make_error(e, what);
    if (auto t = cap.tail(4); !t.empty()) err.message += "\n" + t;
    return failure(std::move(err));
}

std::vector<const char*> c_strings(std::span<const std::string> names) {
    std::vector<const char*> v;
    v.reserve(names.size());
    for (const auto& n : names) v.push_back(n.c_str());
    return v;
}

std::string listed(std::span<const std::string> names) {
    return names.size() <= 3 ? fmt::format("'{}'", fmt::join(names, "', '"))
                             : fmt::format("'{}', ... ({} functions)", fmt::join(names.first(3), "', '"), names.size());
}

// What the errors from kprobe_multi mean here. Without kprobes, libbpf >= 1.2 already fails
// reading tracefs's function list (EPERM here), before the kernel could say EOPNOTSUPP.
std::string_view kprobe_multi_hint(int e) {
    if (e == EOPNOTSUPP || e == enotsupp || !features::kprobes())
        return "this kernel cannot attach kprobe_multi: it needs CONFIG_FPROBE and kprobes (Linux 5.18+)";
    return {};
}
}  // namespace

result<link> program::attach_usdt(const std::string& binary, std::string_view provider, std::string_view name,
                                  usdt_options o) const {
    BPFCO_TRY(check("attach_usdt"));
    detail::ensure_tracefs();
    detail::libbpf_capture cap;
    std::string p(provider), n(name);
    LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = o.cookie);
    auto* l = bpf_program__attach_usdt(prog_, o.pid, binary.c_str(), p.c_str(), n.c_str(), &opts);
    int e = errno;
    auto what = fmt::format("attach USDT probe '{}:{}' in '{}'", provider, name, binary);
    return wrap(*this, l, e, std::move(what), cap,
                e == ENOENT ? "no such probe in the binary; `readelf -n` lists its probes" : "");
}

result<link> program::attach_kprobe_multi(std::string_view pattern, multi_probe_options o) const {
    BPFCO_TRY(check("attach_kprobe_multi"));
    detail::ensure_tracefs();
    detail::libbpf_capture cap;
    std::string pat(pattern);
    LIBBPF_OPTS(bpf_kprobe_multi_opts, opts, .retprobe = o.retprobe);
    auto* l = bpf_program__attach_kprobe_multi_opts(prog_, pat.c_str(), &opts);
    int e = errno;
    auto what = fmt::format("attach kprobe_multi to pattern '{}'", pattern);
    return wrap(*this, l, e, std::move(what), cap,
                e == ENOENT ? "no kernel function matches the pattern" : kprobe_multi_hint(e));
}

result<link> program::attach_kprobe_multi(std::span<const std::string> functions, multi_probe_options o) const {
    BPFCO_TRY(check("attach_kprobe_multi"));
    auto what = fmt::format("attach kprobe_multi to {}", listed(functions));
    if (functions.empty()) return failure(make_error(EINVAL, what + " (the list is empty)"));
    detail::ensure_tracefs();
    detail::libbpf_capture cap;
    auto syms = c_strings(functions);
    LIBBPF_OPTS(bpf_kprobe_multi_opts, opts, .syms = syms.data(), .cnt = syms.size(), .retprobe = o.retprobe);
    auto* l = bpf_program__attach_kprobe_multi_opts(prog_, nullptr, &opts);
    int e = errno;
    return wrap(*this, l, e, std::move(what), cap,
                e == ESRCH || e == ENOENT ? "a listed function is not a kernel function" : kprobe_multi_hint(e));
}

#if BPFCO_HAVE_UPROBE_MULTI
namespace {
result<link> uprobe_multi(const program& p, const std::string& binary, const char* pattern,
                          std::span<const std::string> symbols, multi_probe_options o, std::string what) {
    detail::ensure_tracefs();
    detail::libbpf_capture cap;
    auto syms = c_strings(symbols);
    LIBBPF_OPTS(bpf_uprobe_multi_opts, opts, .syms = syms.empty() ? nullptr : syms.data(), .cnt = syms.size(),
                .retprobe = o.retprobe);
    auto* l = bpf_program__attach_uprobe_multi(p.native_handle(), o.pid, binary.c_str(), pattern, &opts);
    int e = errno;
    std::string_view hint;
    if (e == ENOENT) hint = pattern ? "no symbol of the binary matches the pattern" : "a listed symbol is not in the binary";
    if (e == EOPNOTSUPP || e == EINVAL) hint = "uprobe_multi needs Linux 6.6+ and a program in SEC(\"uprobe.multi\")";
    return wrap(p, l, e, std::move(what), cap, hint);
}
}  // namespace
#endif

result<link> program::attach_uprobe_multi(const std::string& binary, std::string_view pattern,
                                          multi_probe_options o) const {
    BPFCO_TRY(check("attach_uprobe_multi"));
    auto what = fmt::format("attach uprobe_multi to pattern '{}' in '{}'", pattern, binary);
#if BPFCO_HAVE_UPROBE_MULTI
    return uprobe_multi(*this, binary, std::string(pattern).c_str(), {}, o, std::move(what));
#else
    (void)o;
    return failure(make_error(EOPNOTSUPP, what + " (needs libbpf >= 1.3: bpfco was built against libbpf " +
                                              libbpf_version_string() + ")"));
#endif
}

result<link> program::attach_uprobe_multi(const std::string& binary, std::span<const std::string> symbols,
                                          multi_probe_options o) const {
    BPFCO_TRY(check("attach_uprobe_multi"));
    auto what = fmt::format("attach uprobe_multi to {} in '{}'", listed(symbols), binary);
    if (symbols.empty()) return failure(make_error(EINVAL, what + " (the list is empty)"));
#if BPFCO_HAVE_UPROBE_MULTI
    return uprobe_multi(*this, binary, nullptr, symbols, o, std::move(what));
#else
    (void)o;
    return failure(make_error(EOPNOTSUPP, what + " (needs libbpf >= 1.3: bpfco was built against libbpf " +
                                              libbpf_version_string() + ")"));
#endif
}

result<link> program::attach_lsm() const {
    BPFCO_TRY(check("attach_lsm"));
    detail::libbpf_capture cap;
    auto* l = bpf_program__attach_lsm(prog_);
    int e = errno;
    return wrap(*this, l, e, fmt::format("attach LSM program ('{}')", section()), cap,
                e == EOPNOTSUPP || e == enotsupp ? "this kernel has no BPF LSM trampolines (CONFIG_BPF_LSM)" : "");
}

result<link> program::attach_iter() const {
    BPFCO_TRY(check("attach_iter"));
    detail::libbpf_capture cap;
    auto* l = bpf_program__attach_iter(prog_, nullptr);
    int e = errno;
    return wrap(*this, l, e, fmt::format("attach iterator ('{}')", section()), cap);
}

result<link> program::attach_iter(const map& target) const {
    BPFCO_TRY(check("attach_iter"));
    detail::libbpf_capture cap;
    union bpf_iter_link_info info {};
    info.map.map_fd = static_cast<__u32>(target.fd());
    LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof info);
    auto* l = bpf_program__attach_iter(prog_, &opts);
    int e = errno;
    return wrap(*this, l, e, fmt::format("attach iterator ('{}') to map '{}'", section(), target.name()), cap);
}

}  // namespace bpfco
