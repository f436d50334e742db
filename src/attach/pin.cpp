#include <bpfco/attach/pin.hpp>
#include <bpfco/loader/program.hpp>

#include "internal/bpf_fd_kind.hpp"
#include "internal/hints.hpp"
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

result<void> program::pin(const std::string& path) const {
    BPFCO_TRY(check(fmt::format("pin at '{}'", path)));
    if (fd() < 0) return failure(make_error(EBADF, fmt::format("pin at '{}' (not loaded)", path)));
    if (!detail::ensure_bpffs()) return failure(make_error(errno, "bpffs is not mounted at /sys/fs/bpf"));
    if (bpf_obj_pin(fd(), path.c_str()) != 0) return failure(make_error(errno, fmt::format("pin at '{}'", path)));
    ::chmod(path.c_str(), 0600);
    return boost::outcome_v2::success();
}

result<pinned_program> pinned_program::from_pinned(const std::string& path, program_type type) {
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
    const auto have = static_cast<program_type>(info.type);
    if (have != type)
        return failure(EINVAL, fmt::format("pinned program at '{}': is a program of type {} ('{}'), expected type {}",
                                           path, have, info.name, type));
    pinned_program p;
    p.fd_ = std::move(fd);
    p.type_ = have;
    p.name_ = info.name;
    return p;
}

}  // namespace bpfco
