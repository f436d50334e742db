#include <bpfco/net/xskmap.hpp>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <array>
#include <cerrno>

#include <fmt/format.h>

namespace bpfco {

result<xskmap> xskmap::make(bpfco::map m) {
    static constexpr std::array<map_type, 1> types{map_type::xskmap};
    BPFCO_TRY(m.check(types, sizeof(std::uint32_t), sizeof(std::uint32_t)));
    return xskmap(std::move(m));
}

result<void> xskmap::insert(std::uint32_t queue, int socket_fd) const {
    const std::uint32_t value = static_cast<std::uint32_t>(socket_fd);
    if (bpf_map_update_elem(map_.fd(), &queue, &value, BPF_ANY) == 0) return boost::outcome_v2::success();
    const int e = errno;
    std::string_view why = e == EOPNOTSUPP ? " (not an AF_XDP socket bound to an interface and queue)"
                           : e == ENOTSOCK ? " (not a socket)"
                                           : "";
    return failure(map_.make_error(e, fmt::format("queue {} -> socket fd {}{}", queue, socket_fd, why)));
}

}  // namespace bpfco
