#include <bpfco/attach/pin.hpp>
#include <bpfco/loader/program.hpp>

#include "internal/hints.hpp"
#include "internal/bpf_fd_kind.hpp"
#include "internal/libbpf_log.hpp"
#include "internal/mounts.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace bpfco {

namespace {
constexpr long bpffs_magic = 0xcafe4a11;  // BPF_FS_MAGIC (linux/magic.h)

std::string_view prog_type_name(std::uint32_t t) {
    const char* n = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(t));
    return n ? n : "unknown";
}
}  // namespace

result<void> unpin(const std::string& path) {
    struct statfs fs {};
    if (::statfs(path.c_str(), &fs) != 0) {
        int e = errno;
        return failure(e, fmt::format("unpin '{}': {}", path, std::strerror(e)));
    }
    if (fs.f_type != bpffs_magic) return failure(EINVAL, fmt::format("unpin '{}': not on bpffs", path));
    if (::unlink(path.c_str()) != 0) {
        int e = errno;
        return failure(e, fmt::format("unpin '{}': {}", path, std::strerror(e)));
    }
    return boost::outcome_v2::success();
}

result<void> pin(const program& p, const std::string& path) {
    if (p.fd() < 0) return failure(p.make_error(EBADF, fmt::format("pin at '{}' (not loaded)", path)));
    if (!detail::ensure_bpffs()) return failure(p.make_error(errno, "bpffs is not mounted at /sys/fs/bpf"));
    if (bpf_obj_pin(p.fd(), path.c_str()) != 0) return failure(p.make_error(errno, fmt::format("pin at '{}'", path)));
    ::chmod(path.c_str(), 0600);
    return boost::outcome_v2::success();
}

result<pinned_program> pinned_program::open(const std::string& path, std::uint32_t prog_type) {
    detail::ensure_bpffs();
    unique_fd fd(bpf_obj_get(path.c_str()));
    if (!fd) {
        int e = errno;
        return failure(e, fmt::format("pinned program at '{}': {}{}", path, std::strerror(e), privilege_hint(e)));
    }
    if (auto kind = detail::bpf_fd_kind(fd.get()); kind != "program")
        return failure(EINVAL, fmt::format("pinned program at '{}': is a {}, not a program", path, kind));
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
        int e = errno;
        return failure(e, fmt::format("pinned program at '{}': not a BPF program: {}", path, std::strerror(e)));
    }
    if (info.type != prog_type)
        return failure(EINVAL, fmt::format("pinned program at '{}': is a program of type {} ('{}'), expected type {}", path,
                                           prog_type_name(info.type), info.name, prog_type_name(prog_type)));
    pinned_program p;
    p.fd_ = std::move(fd);
    p.type_ = info.type;
    p.name_ = info.name;
    return p;
}

}  // namespace bpfco
