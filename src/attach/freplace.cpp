// program::set_freplace_target and attach_freplace: a BPF_PROG_TYPE_EXT program in place of a
// global function of a loaded program.
#include <bpfco/attach/link.hpp>
#include <bpfco/attach/pin.hpp>
#include <bpfco/loader/features.hpp>
#include <bpfco/loader/program.hpp>

#include "internal/libbpf_log.hpp"
#include "internal/link_access.hpp"

#include <bpf/libbpf.h>

#include <cerrno>

#include <fmt/format.h>

namespace bpfco {

namespace {

const char* no_trampolines = "this kernel cannot run freplace programs: they need BPF trampolines, which it lacks";

// The target as errors name it: its name and fd.
std::string target_text(std::string_view name, int fd, const std::string& function) {
    return fmt::format("function '{}' of program '{}' (fd {})", function, name, fd);
}

result<void> set_target(program& p, int target_fd, std::string_view target_name, const std::string& function) {
    const auto what = "set the freplace target " + target_text(target_name, target_fd, function);
    if (!p) return failure(EBADF, fmt::format("program: {}: the handle is empty", what));
    if (target_fd < 0) return failure(p.make_error(EBADF, what, "the target is not loaded"));
    if (p.fd() >= 0) return failure(p.make_error(EBUSY, what, "this program is already loaded: set it before load"));
    detail::libbpf_capture cap;
    if (bpf_program__set_attach_target(p.native_handle(), target_fd, function.c_str()) != 0) {
        auto err = p.make_error(errno, what);
        if (auto t = cap.tail(4); !t.empty()) err.message += "\n" + t;
        return failure(std::move(err));
    }
    return boost::outcome_v2::success();
}

result<link> replace(const program& p, int target_fd, std::string_view target_name, const std::string& function) {
    const auto what = "attach in place of " + target_text(target_name, target_fd, function);
    if (!p) return failure(EBADF, fmt::format("program: {}: the handle is empty", what));
    if (p.fd() < 0) return failure(p.make_error(EBADF, what, "the program is not loaded"));
    if (target_fd < 0) return failure(p.make_error(EBADF, what, "the target is not loaded"));
    if (!features::fentry()) return failure(p.make_error(EOPNOTSUPP, what, no_trampolines));
    detail::libbpf_capture cap;
    bpf_link* l = bpf_program__attach_freplace(p.native_handle(), target_fd, function.c_str());
    const int e = errno;
    if (l) return detail::link_access::from_libbpf(l);
    auto err = p.make_error(e ? e : EINVAL, what);
    if (auto t = cap.tail(4); !t.empty()) err.message += "\n" + t;
    return failure(std::move(err));
}

}  // namespace

result<void> program::set_freplace_target(const program& target, const std::string& function) {
    return set_target(*this, target.fd(), target.name(), function);
}
result<void> program::set_freplace_target(const pinned_program& target, const std::string& function) {
    return set_target(*this, target.fd(), target.name(), function);
}
result<link> program::attach_freplace(const program& target, const std::string& function) const {
    return replace(*this, target.fd(), target.name(), function);
}
result<link> program::attach_freplace(const pinned_program& target, const std::string& function) const {
    return replace(*this, target.fd(), target.name(), function);
}

}  // namespace bpfco
