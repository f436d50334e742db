// What kind of BPF object an fd holds. BPF_OBJ_GET_INFO_BY_FD fills whatever info struct it is
// given with the fd's own kind, so a re-opened pin must be told apart before its info is read.
#pragma once

#include <unistd.h>

#include <string>
#include <string_view>

namespace bpfco::detail {

/// "map", "program", "link", or what else the fd is (for messages).
inline std::string bpf_fd_kind(int fd) {
    char target[128] = {};
    auto path = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    std::string_view t(target, n > 0 ? static_cast<std::size_t>(n) : 0);
    if (t == "anon_inode:bpf-map") return "map";
    if (t == "anon_inode:bpf-prog") return "program";
    if (t == "anon_inode:bpf_link" || t == "anon_inode:bpf-link") return "link";  // renamed in Linux 6.x
    return t.empty() ? "unknown" : std::string(t);
}

}  // namespace bpfco::detail
