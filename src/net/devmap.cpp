#include <bpfco/net/devmap.hpp>

#include <bpf/bpf.h>
#include <net/if.h>

#include <array>
#include <cerrno>

#include <fmt/format.h>

namespace bpfco::detail {

namespace {
struct slot_value {
    std::uint32_t first;
    std::int32_t prog_fd;
};
}  // namespace

result<void> check_slot_map(const bpfco::map& m, map_type type) {
    const std::array<map_type, 1> types{type};
    // Either value form is valid; check against the one the map has, so the error (wrong type or
    // key size) names what the view wants.
    const std::uint32_t value_size = m.info().value_size == 4 ? 4 : sizeof(slot_value);
    return m.check(types, sizeof(std::uint32_t), value_size);
}

result<void> insert_slot(const bpfco::map& m, std::uint32_t key, std::uint32_t first, const program* prog,
                      std::string_view what) {
    slot_value value{first, -1};  // the kernel takes an fd <= 0 as "no program"
    if (prog) {
        if (m.info().value_size != sizeof value)
            return failure(m.make_error(EINVAL, fmt::format("slot {}: a second program needs 8-byte values "
                                                            "(struct bpf_devmap_val or bpf_cpumap_val)", key)));
        if (prog->fd() < 0)
            return failure(m.make_error(EBADF, fmt::format("slot {}: program '{}' is not loaded", key, prog->name())));
        value.prog_fd = prog->fd();
    }
    if (bpf_map_update_elem(m.fd(), &key, &value, BPF_ANY) == 0) return boost::outcome_v2::success();
    const int e = errno;
    // The kernel says EINVAL for a missing interface, as for a bad program: tell them apart.
    char name[IF_NAMESIZE];
    const bool no_device = what == "interface index" && ::if_indextoname(first, name) == nullptr;
    std::string_view why = no_device ? " (no interface with that index in this network namespace)"
                           : e == EINVAL && prog ? " (the second program must be XDP, loaded for this map kind)"
                           : e == E2BIG ? " (slot beyond max_entries)"
                                        : "";
    return failure(m.make_error(e, fmt::format("slot {} -> {} {}{}", key, what, first, why)));
}

result<std::optional<std::pair<std::uint32_t, std::uint32_t>>> get_slot(const bpfco::map& m, std::uint32_t key) {
    slot_value value{0, 0};
    BPFCO_TRY(bool found, m.lookup_bytes(&key, &value));
    if (!found) return std::optional<std::pair<std::uint32_t, std::uint32_t>>{};
    // On read the kernel puts the program's id where the fd went.
    const std::uint32_t id = m.info().value_size == sizeof value ? static_cast<std::uint32_t>(value.prog_fd) : 0;
    return std::optional<std::pair<std::uint32_t, std::uint32_t>>{std::pair{value.first, id}};
}

}  // namespace bpfco::detail
