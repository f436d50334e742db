#include <bpfco/net/sockmap.hpp>

#include <bpf/bpf.h>

#include <array>
#include <cerrno>

#include <fmt/format.h>

namespace bpfco::detail {

result<void> check_socket_map(const bpfco::map& m, map_type type, std::uint32_t key_size) {
    const std::array<map_type, 1> types{type};
    const std::uint32_t value_size = m.info().value_size == 8 ? 8 : 4;
    return m.check(types, key_size, value_size);
}

result<void> insert_socket(const bpfco::map& m, const void* key, std::string_view key_text, int socket_fd,
                           update_flags flags) {
    const std::uint64_t value = static_cast<std::uint32_t>(socket_fd);  // little endian: the low 4 bytes
    if (bpf_map_update_elem(m.fd(), key, &value, static_cast<std::uint64_t>(flags)) == 0)
        return boost::outcome_v2::success();
    const int e = errno;
    std::string_view why = e == EOPNOTSUPP ? " (the kernel takes TCP sockets established or listening, UDP "
                                             "sockets bound, and unix sockets)"
                           : e == ENOTSOCK ? " (not a socket)"
                           : e == EEXIST   ? " (key exists and no_exist was asked)"
                                           : "";
    return failure(m.make_error(e, fmt::format("{} -> socket fd {}{}", key_text, socket_fd, why)));
}

}  // namespace bpfco::detail
