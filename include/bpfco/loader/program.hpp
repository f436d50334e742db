// A program inside a loaded object: a view, valid while its object lives. Every attach returns a
// link that owns the attachment. Programs come from object::program() and object::programs(); a
// default-constructed program is empty: its name and section are "", fd() is -1, type() is
// program_type::unspec, set_autoload() does nothing, and pin() and every attach return an error
// saying so.
#pragma once

#include <bpfco/attach/link.hpp>
#include <bpfco/error.hpp>
#include <bpfco/kinds.hpp>
#include <bpfco/unique_fd.hpp>

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct bpf_program;

namespace bpfco {

/// XDP attach modes (the kernel's XDP_FLAGS_*); `automatic` lets the kernel choose.
enum class xdp_mode : std::uint32_t { automatic = 0, generic = 1u << 1, native = 1u << 2, offload = 1u << 3 };

/// Which way through an interface a TC program sees packets.
enum class tc_direction { ingress, egress };

/// Options of program::attach_kprobe().
struct kprobe_options {
    std::uint64_t offset = 0;  ///< bytes into the function, where the probe fires
    bool retprobe = false;     ///< fire on return (a kretprobe) instead of on entry
};

/// Options of program::attach_uprobe().
struct uprobe_options {
    pid_t pid = -1;  ///< -1: every process that maps the binary
    bool retprobe = false;  ///< fire on return (a uretprobe) instead of on entry
    std::uint64_t offset = 0;  ///< added to the symbol's address
};

/// Options of program::attach_usdt().
struct usdt_options {
    pid_t pid = -1;              ///< -1: every process that maps the binary
    std::uint64_t cookie = 0;    ///< what the program reads with bpf_usdt_cookie()
};

/// Options of program::attach_kprobe_multi() and attach_uprobe_multi().
struct multi_probe_options {
    pid_t pid = -1;  ///< uprobe_multi only; -1: every process that maps the binary
    bool retprobe = false;  ///< fire on return instead of on entry
};

class map;
class perf_event;
class pinned_program;

/// One program of a loaded object, and every way to attach it. Each attach returns a link that
/// owns the attachment, or an error naming the program, the target (function, interface, cgroup,
/// binary) and the reason. A view into its object: do not use it after the object is destroyed.
///
/// Thread safety: const members are safe from several threads (each is a libbpf call on a loaded
/// program); set_autoload() is not, and belongs before the object's load().
class program {
public:
    /// An empty program (see the file comment): every attach fails saying so.
    program() = default;

    /// The program's function name in the BPF C source.
    std::string_view name() const noexcept;
    /// Its ELF section (SEC("...")), which says how attach() attaches it.
    std::string_view section() const noexcept;
    /// The program's fd once its object is loaded; negative before (libbpf's -ENOENT), -1 when empty.
    int fd() const noexcept;
    /// Its type, as libbpf determined it from the section (unspec when empty).
    program_type type() const noexcept;
    /// libbpf's program, for what bpfco does not wrap; owned by the object.
    bpf_program* native_handle() const noexcept { return prog_; }
    /// False for an empty program.
    explicit operator bool() const noexcept { return prog_ != nullptr; }

    /// Before load: whether this program is loaded with its object (libbpf autoload). After load
    /// it is an error naming the program (EBUSY: the object is loaded); on an empty program it
    /// does nothing.
    result<void> set_autoload(bool on) const;

    /// Pins the loaded program at `path` under bpffs (mode 0600), so that it outlives the object;
    /// re-open it with pinned_program::from_pinned(). Fails naming the program and the path
    /// (EBADF when it is not loaded, or the kernel's reason: path taken, not on bpffs).
    result<void> pin(const std::string& path) const;

    /// Attaches the way its section name says (SEC("tracepoint/...") etc.).
    result<link> attach() const;
    /// A tracepoint (tracefs events/category/name); an unknown one fails with ENOENT naming it.
    result<link> attach_tracepoint(std::string_view category, std::string_view name) const;
    /// A raw tracepoint by name ("sys_enter").
    result<link> attach_raw_tracepoint(std::string_view name) const;
    /// A kprobe on a kernel function; fails naming it, with EOPNOTSUPP where this kernel has no
    /// kprobes.
    result<link> attach_kprobe(std::string_view function, kprobe_options opts = {}) const;
    /// attach_kprobe() with `retprobe` set.
    result<link> attach_kretprobe(std::string_view function) const;
    /// Resolves `symbol` through the binary's ELF symbol tables (libbpf does the lookup).
    result<link> attach_uprobe(const std::string& binary, std::string_view symbol,
                               uprobe_options opts = {}) const;
    /// XDP on an interface by name, through a kernel link (detached when the link's fd closes);
    /// fails naming the interface when it does not exist or refuses the mode.
    result<link> attach_xdp(std::string_view interface, xdp_mode mode = xdp_mode::automatic) const;
    /// XDP on an interface by index (the name in errors is looked up from it).
    result<link> attach_xdp(int ifindex, xdp_mode mode = xdp_mode::automatic) const;
    /// A netlink TC filter (clsact): works on older kernels, but it is not fd-owned: only the
    /// link's destructor (or detach()) deletes it, so a process killed with SIGKILL leaves it
    /// attached. Prefer attach_tcx() where the kernel has it.
    result<link> attach_tc(std::string_view interface, tc_direction direction,
                           std::uint32_t priority = 1) const;
    /// TC through a kernel link (tcx, Linux 6.6+): owned by the link's fd like XDP, so it is
    /// detached when the process exits however it exits (even SIGKILL), and detaching needs no
    /// capability. Older kernels fail with EINVAL or EOPNOTSUPP: use attach_tc() there.
    result<link> attach_tcx(std::string_view interface, tc_direction direction) const;
    /// A perf event fd opened by the caller (perf_event_open); the link owns it and closes it.
    result<link> attach_perf_event(unique_fd perf_fd) const;
    /// Every CPU of `events` (a perf_event_program, SEC("perf_event")): one link that holds a
    /// per-CPU link each and detaches them all. Enables the events. Fails naming the CPU; the
    /// CPUs attached before it are detached again.
    result<link> attach_perf_event(const perf_event& events) const;
    /// fentry/fexit/fmod_ret: the target was fixed by the section name at load time.
    result<link> attach_trace() const;
    /// A cgroup hook (attach_type::cgroup_inet_ingress, cgroup_sock_ops, ...) on the cgroup v2
    /// directory `cgroup_path`, through a kernel link.
    result<link> attach_cgroup(const std::string& cgroup_path, attach_type type) const;
    /// A socket filter (SEC("socket")) on `socket` (SO_ATTACH_BPF): it returns how many bytes of
    /// each packet to keep, 0 drops the packet. `socket` stays the caller's: the link holds its
    /// own handle on it, so the socket lives until both are gone; destroying the link detaches
    /// (SO_DETACH_BPF). Fails with EINVAL for another kind of program, ENOTSOCK for a non-socket.
    result<link> attach_socket_filter(int socket) const;
    /// An sk_msg or sk_skb program (SEC("sk_msg"), SEC("sk_skb/stream_verdict"), ...; the section
    /// gives the attach type) on a sockmap or sockhash (`view.untyped()`). A kernel link where the
    /// kernel has one (Linux 6.10+); before that bpf_prog_attach, whose link holds handles on the
    /// map and the program and detaches with bpf_prog_detach2. A socket gets the map's programs
    /// when it is inserted and keeps them until it leaves the map: attach before inserting.
    /// Another map type or program kind fails (EINVAL) naming both.
    result<link> attach_sockmap(const map& sockmap) const;

    /// A USDT probe `provider:name` in `binary` (an executable or shared library), through
    /// libbpf's USDT support; the BPF side reads its arguments with BPF_USDT() from
    /// <bpf/usdt.bpf.h>.
    result<link> attach_usdt(const std::string& binary, std::string_view provider, std::string_view name,
                             usdt_options opts = {}) const;
    /// One kprobe_multi link over every kernel function matching a glob pattern ("__x64_sys_get*").
    /// A pattern that matches nothing fails with ENOENT naming it.
    result<link> attach_kprobe_multi(std::string_view pattern, multi_probe_options opts = {}) const;
    /// One kprobe_multi link over the listed functions.
    result<link> attach_kprobe_multi(std::span<const std::string> functions, multi_probe_options opts = {}) const;
    /// One uprobe_multi link over the symbols of `binary` matching a glob pattern. Needs libbpf
    /// >= 1.3 at build time (else it fails with EOPNOTSUPP saying so) and Linux 6.6+.
    result<link> attach_uprobe_multi(const std::string& binary, std::string_view pattern,
                                     multi_probe_options opts = {}) const;
    /// One uprobe_multi link over the listed symbols of `binary`.
    result<link> attach_uprobe_multi(const std::string& binary, std::span<const std::string> symbols,
                                     multi_probe_options opts = {}) const;
    /// An LSM program (SEC("lsm/hook")) through its link. The kernel runs BPF LSM hooks only when
    /// booted with "bpf" in its LSM list (e.g. `lsm=lockdown,capability,landlock,yama,apparmor,bpf`).
    result<link> attach_lsm() const;
    /// An iterator program (SEC("iter/task"), ...): read its output through bpfco::iterator_stream.
    result<link> attach_iter() const;
    /// An iterator over one map's elements (SEC("iter/bpf_map_elem")).
    result<link> attach_iter(const map& target) const;

    /// freplace (SEC("freplace/function")), before load: the loaded program whose global
    /// `function` this one will replace, given as a program handle or re-opened from its pin
    /// (pinned_program::from_pinned; keep it open until this program is loaded). The kernel
    /// checks at load that both functions have the same signature.
    result<void> set_freplace_target(const program& target, const std::string& function);
    result<void> set_freplace_target(const pinned_program& target, const std::string& function);
    /// freplace, after load: runs this program in place of `function` of `target` (the target set
    /// before load) until the link is destroyed, which restores the original. Fails naming both
    /// programs and the function; EOPNOTSUPP where the kernel has no BPF trampolines.
    /// (src/attach/freplace.cpp)
    result<link> attach_freplace(const program& target, const std::string& function) const;
    result<link> attach_freplace(const pinned_program& target, const std::string& function) const;

    /// An error about this program, in error.hpp's format: "program 'name': what: errno text
    /// (hint)"; without a hint, EPERM gets the privilege hint.
    error make_error(int errnum, std::string_view what, std::string_view hint = {}) const;

private:
    friend class object;
    explicit program(bpf_program* p) noexcept : prog_(p) {}
    /// The error every attach returns on an empty program.
    result<void> check(std::string_view what) const;
    bpf_program* prog_ = nullptr;
};

/// The ifindex of a network interface, or an error naming it.
result<int> interface_index(std::string_view interface);

}  // namespace bpfco
