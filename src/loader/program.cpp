#include <bpfco/loader/features.hpp>
#include <bpfco/loader/program.hpp>

#include "internal/hints.hpp"
#include "internal/libbpf_log.hpp"
#include "internal/link_access.hpp"
#include "internal/mounts.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace bpfco {

namespace {
std::string with_detail(std::string msg, const detail::libbpf_capture& cap) {
    auto t = cap.tail(4);
    if (!t.empty()) msg += "\n" + t;
    return msg;
}
}  // namespace

std::string_view program::name() const noexcept { return prog_ ? bpf_program__name(prog_) : ""; }
std::string_view program::section() const noexcept { return prog_ ? bpf_program__section_name(prog_) : ""; }
int program::fd() const noexcept { return prog_ ? bpf_program__fd(prog_) : -1; }
program_type program::type() const noexcept {
    return prog_ ? static_cast<program_type>(bpf_program__type(prog_)) : program_type::unspec;
}
result<void> program::set_autoload(bool on) const {
    if (prog_ && bpf_program__set_autoload(prog_, on) != 0)
        return make_error(EBUSY, "set autoload",
                          "its object is already loaded: set autoload before object::load()");
    return boost::outcome_v2::success();
}

error program::make_error(int errnum, std::string_view what, std::string_view hint) const {
    return bpfco::make_error(errnum, fmt::format("program '{}': {}: {}{}", name(), what, detail::errno_text(errnum),
                                                 hint.empty() ? privilege_hint(errnum) : fmt::format(" ({})", hint)));
}

result<void> program::check(std::string_view what) const {
    if (prog_) return boost::outcome_v2::success();
    return failure(EBADF, fmt::format("program: {}: {}: the handle is empty (default-constructed, not "
                                      "from object::program())",
                                      what, detail::errno_text(EBADF)));
}

namespace {
// Turns libbpf's (link or NULL + errno) into a result, with libbpf's own explanation attached.
// `e` is errno read right after the libbpf call, before anything else (formatting `what`,
// allocation) could overwrite it.
result<link> wrap(const program& p, bpf_link* l, int e, std::string_view what,
                  const detail::libbpf_capture& cap) {
    if (l) return detail::link_access::from_libbpf(l);
    if (e == 0) e = EINVAL;
    auto err = p.make_error(e, what);
    err.message = with_detail(std::move(err.message), cap);
    return failure(std::move(err));
}

result<link> wrap_fd(const program& p, int fd, int e, std::string_view what) {
    if (fd >= 0) return detail::link_access::from_fd(unique_fd(fd));
    return failure(p.make_error(e ? e : EINVAL, what));
}
}  // namespace

result<link> program::attach() const {
    auto what = fmt::format("attach by section '{}'", section());
    BPFCO_TRY(check(what));
    // The same hints as the specific attach_* calls, and the call to use where the section cannot
    // be attached from its name alone.
    if (auto missing = detail::missing_feature_hint(prog_); !missing.empty())
        return failure(make_error(EOPNOTSUPP, what, missing));
    detail::ensure_tracefs();
    detail::libbpf_capture cap;
    auto* l = bpf_program__attach(prog_);
    int e = errno;
    if (!l && (e == EOPNOTSUPP || e == ESRCH || e == EINVAL))
        if (auto call = detail::attach_call_hint(prog_); !call.empty())
            return failure(make_error(EOPNOTSUPP, what, call));
    if (!l && e == ENOENT && type() == program_type::tracepoint)
        return failure(make_error(ENOENT, what, "no such tracepoint: see /sys/kernel/tracing/events"));
    return wrap(*this, l, e, what, cap);
}

result<link> program::attach_tracepoint(std::string_view category, std::string_view name) const {
    auto what = fmt::format("attach to tracepoint '{}/{}'", category, name);
    BPFCO_TRY(check(what));
    if (!detail::ensure_tracefs())
        return failure(make_error(errno, what, "tracefs is not mounted and cannot be mounted"));
    detail::libbpf_capture cap;
    std::string c(category), n(name);
    auto* l = bpf_program__attach_tracepoint(prog_, c.c_str(), n.c_str());
    int e = errno;
    if (!l && e == ENOENT)
        return failure(make_error(ENOENT, what, "no such tracepoint: see /sys/kernel/tracing/events"));
    return wrap(*this, l, e, what, cap);
}

result<link> program::attach_raw_tracepoint(std::string_view name) const {
    auto what = fmt::format("attach to raw tracepoint '{}'", name);
    BPFCO_TRY(check(what));
    detail::libbpf_capture cap;
    std::string n(name);
    auto* l = bpf_program__attach_raw_tracepoint(prog_, n.c_str());
    int e = errno;
    if (!l && e == ENOENT) return failure(make_error(ENOENT, what, "no such tracepoint"));
    return wrap(*this, l, e, what, cap);
}

result<link> program::attach_kprobe(std::string_view function, kprobe_options o) const {
    auto what = fmt::format("attach {} to '{}'", o.retprobe ? "kretprobe" : "kprobe", function);
    BPFCO_TRY(check(what));
    if (!features::kprobes())
        return failure(make_error(EOPNOTSUPP, what, detail::no_kprobes_hint));
    detail::ensure_tracefs();
    detail::libbpf_capture cap;
    std::string f(function);
    LIBBPF_OPTS(bpf_kprobe_opts, opts, .offset = o.offset, .retprobe = o.retprobe);
    auto* l = bpf_program__attach_kprobe_opts(prog_, f.c_str(), &opts);
    int e = errno;
    return wrap(*this, l, e, what, cap);
}

result<link> program::attach_kretprobe(std::string_view function) const {
    return attach_kprobe(function, {.offset = 0, .retprobe = true});
}

result<link> program::attach_uprobe(const std::string& binary, std::string_view symbol,
                                    uprobe_options o) const {
    BPFCO_TRY(check("attach uprobe"));
    detail::ensure_tracefs();
    detail::libbpf_capture cap;
    std::string s(symbol);
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = o.retprobe, .func_name = s.c_str());
    auto* l = bpf_program__attach_uprobe_opts(prog_, o.pid, binary.c_str(), o.offset, &opts);
    int e = errno;
    return wrap(*this, l, e,
                fmt::format("attach {} to '{}' in '{}'", o.retprobe ? "uretprobe" : "uprobe", symbol, binary),
                cap);
}

result<int> interface_index(std::string_view interface) {
    std::string n(interface);
    unsigned idx = ::if_nametoindex(n.c_str());
    if (idx == 0) return failure(ENODEV, fmt::format("interface '{}': no such network interface", interface));
    return static_cast<int>(idx);
}

result<link> program::attach_xdp(std::string_view interface, xdp_mode mode) const {
    auto what = fmt::format("attach XDP to interface '{}'", interface);
    BPFCO_TRY(check(what));
    auto idx = interface_index(interface);
    if (!idx) return failure(make_error(ENODEV, what, "no such interface"));
    return attach_xdp(idx.value(), mode);
}

result<link> program::attach_xdp(int ifindex, xdp_mode mode) const {
    BPFCO_TRY(check(fmt::format("attach XDP to ifindex {}", ifindex)));
    LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = static_cast<std::uint32_t>(mode));
    char ifname[IF_NAMESIZE] = "?";
    ::if_indextoname(ifindex, ifname);
    int l = bpf_link_create(fd(), ifindex, BPF_XDP, &opts);
    int e = errno;
    return wrap_fd(*this, l, e,
                   fmt::format("attach XDP to interface '{}' (ifindex {})", ifname, ifindex));
}

result<link> program::attach_tc(std::string_view interface, tc_direction direction,
                                std::uint32_t priority) const {
    auto what = fmt::format("attach TC {} to interface '{}'",
                            direction == tc_direction::ingress ? "ingress" : "egress", interface);
    BPFCO_TRY(check(what));
    auto idx = interface_index(interface);
    if (!idx) return failure(make_error(ENODEV, what, "no such interface"));
    detail::libbpf_capture cap;
    bool ingress = direction == tc_direction::ingress;
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = idx.value(),
                .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    // The clsact qdisc may exist already (another filter, or our other direction).
    if (int r = bpf_tc_hook_create(&hook); r != 0 && r != -EEXIST)
        return failure(make_error(-r, what + ", creating the clsact qdisc"));
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd(), .priority = priority);
    if (int r = bpf_tc_attach(&hook, &opts); r != 0) return failure(make_error(-r, what));
    return detail::link_access::from_tc_filter(idx.value(), direction, opts.handle, opts.priority);
}

result<link> program::attach_tcx(std::string_view interface, tc_direction direction) const {
    const bool ingress = direction == tc_direction::ingress;
    auto what = fmt::format("attach TC {} (tcx link) to interface '{}'", ingress ? "ingress" : "egress", interface);
    BPFCO_TRY(check(what));
    auto idx = interface_index(interface);
    if (!idx) return failure(make_error(ENODEV, what, "no such interface"));
    int l = bpf_link_create(fd(), idx.value(), static_cast<bpf_attach_type>(ingress ? attach_type::tcx_ingress : attach_type::tcx_egress),
                            nullptr);
    int e = errno;
    return wrap_fd(*this, l, e, what);
}

result<link> program::attach_perf_event(unique_fd perf_fd) const {
    const auto what = fmt::format("attach to perf event fd {}", perf_fd.get());
    BPFCO_TRY(check(what));
    detail::libbpf_capture cap;
    auto* l = bpf_program__attach_perf_event(prog_, perf_fd.get());
    int e = errno;
    if (l) return detail::link_access::from_libbpf_perf(l, std::move(perf_fd));  // the link closes it now
    return wrap(*this, l, e, what, cap);
}

result<link> program::attach_trace() const {
    auto what = fmt::format("attach fentry/fexit (section '{}')", section());
    BPFCO_TRY(check(what));
    if (auto missing = detail::missing_feature_hint(prog_); !missing.empty())
        return failure(make_error(EOPNOTSUPP, what, missing));
    detail::libbpf_capture cap;
    auto* l = bpf_program__attach_trace(prog_);
    int e = errno;
    return wrap(*this, l, e, what, cap);
}

result<link> program::attach_cgroup(const std::string& cgroup_path, attach_type type) const {
    auto what = fmt::format("attach to cgroup '{}'", cgroup_path);
    BPFCO_TRY(check(what));
    unique_fd cg(::open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cg) return failure(make_error(errno, what + ", opening the cgroup directory"));
    int l = bpf_link_create(fd(), cg.get(), static_cast<bpf_attach_type>(type), nullptr);
    int e = errno;
    return wrap_fd(*this, l, e, what);
}

}  // namespace bpfco
