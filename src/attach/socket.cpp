// Socket programs: socket filters, sk_msg/sk_skb on socket maps. sock_ops programs go through
// program::attach_cgroup(path, attach_type::cgroup_sock_ops), a cgroup link like every other
// cgroup hook.
#include <bpfco/loader/program.hpp>
#include <bpfco/maps/map.hpp>

#include "internal/link_access.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include <fmt/format.h>

namespace bpfco {

namespace {
unique_fd dup_fd(int fd) { return unique_fd(::fcntl(fd, F_DUPFD_CLOEXEC, 0)); }
}  // namespace

result<link> program::attach_socket_filter(int socket) const {
    const auto& prog = *this;
    BPFCO_TRY(check(fmt::format("attach to socket fd {}", socket)));
    const int prog_fd = prog.fd();
    if (::setsockopt(socket, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof prog_fd) != 0) {
        const int e = errno;
        std::string_view why = e == EINVAL ? " (the program must be a loaded socket filter, SEC(\"socket\"))"
                               : e == ENOTSOCK || e == EBADF ? " (not a socket)"
                                                             : "";
        return failure(prog.make_error(e, fmt::format("attach to socket fd {}{}", socket, why)));
    }
    auto handle = dup_fd(socket);
    if (!handle) {
        const int e = errno;
        ::setsockopt(socket, SOL_SOCKET, SO_DETACH_BPF, nullptr, 0);  // nothing may stay attached unowned
        return failure(prog.make_error(e, fmt::format("attach to socket fd {}: dup", socket)));
    }
    return detail::link_access::from_socket_filter(std::move(handle));
}

result<link> program::attach_sockmap(const map& sockmap) const {
    const auto& prog = *this;
    BPFCO_TRY(check(fmt::format("attach to map '{}'", sockmap.name())));
    const auto type = sockmap.info().type;
    if (type != map_type::sockmap && type != map_type::sockhash)
        return failure(prog.make_error(EINVAL, fmt::format("attach to map '{}': it is a {} map, not a sockmap or "
                                                           "sockhash", sockmap.name(), type)));
    const auto expected = bpf_program__expected_attach_type(prog.native_handle());
    if (expected != BPF_SK_MSG_VERDICT && expected != BPF_SK_SKB_STREAM_PARSER &&
        expected != BPF_SK_SKB_STREAM_VERDICT && expected != BPF_SK_SKB_VERDICT)
        return failure(prog.make_error(EINVAL, fmt::format("attach to map '{}': section '{}' is not sk_msg or "
                                                           "sk_skb/...", sockmap.name(), prog.section())));
    const int fd = bpf_link_create(prog.fd(), sockmap.fd(), expected, nullptr);
    if (fd >= 0) return detail::link_access::from_fd(unique_fd(fd));
    int e = errno;
    if (e == EINVAL) {
        // Before Linux 6.10 sockmaps have no links: the older attach, owned by the link all the same.
        auto target = dup_fd(sockmap.fd());
        auto program_handle = dup_fd(prog.fd());
        if (!target || !program_handle)
            return failure(prog.make_error(errno, fmt::format("attach to map '{}': dup", sockmap.name())));
        if (bpf_prog_attach(prog.fd(), sockmap.fd(), expected, 0) == 0)
            return detail::link_access::from_prog_attach(std::move(target), std::move(program_handle),
                                                         static_cast<attach_type>(expected));
        e = errno;
    }
    return failure(prog.make_error(e, fmt::format("attach to map '{}'", sockmap.name())));
}

}  // namespace bpfco
