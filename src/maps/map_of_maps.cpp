#include <bpfco/maps/map_of_maps.hpp>

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace bpfco::detail {

result<void> map_of_maps_base::check_outer(const bpfco::map& outer, map_type type, std::uint32_t key_size) {
    const map_type types[] = {type};
    // The kernel reads and writes an inner map as its 32-bit fd (update) or id (lookup).
    return outer.check(types, key_size, sizeof(std::uint32_t));
}

result<map_info> map_of_maps_base::template_from(const bpfco::map& outer, std::uint32_t key_size) {
    std::vector<std::byte> key(key_size), next(key_size);
    const void* prev = nullptr;
    for (;;) {
        BPFCO_TRY(bool more, outer.next_key_bytes(prev, next.data()));
        if (!more) break;
        std::uint32_t id = 0;
        BPFCO_TRY(bool found, outer.lookup_bytes(next.data(), &id));
        if (found) {
            unique_fd fd(bpf_map_get_fd_by_id(id));
            if (!fd) return failure(outer.make_error(errno, fmt::format("opening inner map id {}", id)));
            BPFCO_TRY(auto inner, bpfco::map::from_fd(std::move(fd)));
            return inner.info();
        }
        key = next;
        prev = key.data();
    }
    return failure(outer.make_error(ENOENT, "holds no inner map to take the inner template from (pass one to make)"));
}

result<map> map_of_maps_base::create_inner(std::string_view name) const {
    return bpfco::map::create(inner_.type, name, inner_.key_size, inner_.value_size, inner_.max_entries, inner_.flags);
}

result<void> map_of_maps_base::insert_bytes(const void* key, const bpfco::map& inner, update_flags flags) const {
    const auto& i = inner.info();
    if (i.type != inner_.type || i.key_size != inner_.key_size || i.value_size != inner_.value_size ||
        i.max_entries != inner_.max_entries)
        return failure(map_.make_error(
            EINVAL, fmt::format("insert inner map '{}': it is {} (key {}, value {}, max_entries {}), the template is {} "
                                "(key {}, value {}, max_entries {})",
                                inner.name(), i.type, i.key_size, i.value_size, i.max_entries,
                                inner_.type, inner_.key_size, inner_.value_size, inner_.max_entries)));
    std::uint32_t fd = static_cast<std::uint32_t>(inner.fd());
    return map_.insert_bytes(key, &fd, flags);
}

result<std::optional<std::uint32_t>> map_of_maps_base::inner_id_bytes(const void* key) const {
    std::uint32_t id = 0;
    BPFCO_TRY(bool found, map_.lookup_bytes(key, &id));
    if (!found) return std::optional<std::uint32_t>{};
    return std::optional<std::uint32_t>{id};
}

}  // namespace bpfco::detail
