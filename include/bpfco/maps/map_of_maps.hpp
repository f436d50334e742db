// Maps of maps (BPF_MAP_TYPE_ARRAY_OF_MAPS, HASH_OF_MAPS): a BPF program looks up an inner map
// through the outer one, so user space can swap a whole table in one update.
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace bpfco {

namespace detail {

/// What both kinds share: the inner maps' template, creating inner maps like it, and
/// inserting only maps that match it (the kernel refuses others; the check names both kinds).
class map_of_maps_base : public typed_map_base {
public:
    /// The kind every inner map has (type, key and value size, max_entries, flags).
    const map_info& inner_template() const noexcept { return inner_; }
    /// A new, empty inner map made like the template.
    result<map> create_inner(std::string_view name) const;

protected:
    map_of_maps_base() = default;
    map_of_maps_base(bpfco::map outer, map_info inner) noexcept : typed_map_base(std::move(outer)), inner_(std::move(inner)) {}
    /// The template from the first inner map present in `outer`; an error when it holds none.
    static result<map_info> template_from(const bpfco::map& outer, std::uint32_t key_size);
    static result<void> check_outer(const bpfco::map& outer, map_type type, std::uint32_t key_size);
    result<void> insert_bytes(const void* key, const bpfco::map& inner, update_flags flags) const;
    result<std::optional<std::uint32_t>> inner_id_bytes(const void* key) const;

    map_info inner_;
};

template <class K, map_type Type>
class map_of_maps : public map_of_maps_base, public view_from_pinned<map_of_maps<K, Type>> {
    static_assert(map_data<K>, "map keys must be trivially copyable");

public:
    using key_type = K;
    /// The outer map; the inner template is taken from an inner map it already holds.
    static result<map_of_maps> make(bpfco::map outer) {
        BPFCO_TRY(check_outer(outer, Type, sizeof(K)));
        BPFCO_TRY(auto inner, template_from(outer, sizeof(K)));
        return map_of_maps(std::move(outer), std::move(inner));
    }
    /// The outer map with an explicit inner template (for an outer map that holds none yet).
    static result<map_of_maps> make(bpfco::map outer, map_info inner_template) {
        BPFCO_TRY(check_outer(outer, Type, sizeof(K)));
        return map_of_maps(std::move(outer), std::move(inner_template));
    }
    /// Inserts or replaces the inner map at key in one step: a BPF lookup sees the old map or
    /// the new one, never none.
    result<void> insert(const K& key, const bpfco::map& inner, update_flags flags = update_flags::any) const {
        return insert_bytes(&key, inner, flags);
    }
    /// The kernel id of the inner map at key, if any.
    result<std::optional<std::uint32_t>> inner_id(const K& key) const { return inner_id_bytes(&key); }
    /// Removes the inner map at key (an array slot becomes empty); false when there was none.
    result<bool> erase(const K& key) const { return map_.erase_bytes(&key); }

private:
    using map_of_maps_base::map_of_maps_base;
};

}  // namespace detail

/// BPF_MAP_TYPE_ARRAY_OF_MAPS: index -> inner map. make(outer) takes the inner template from
/// an inner map the outer one holds (fails naming the map when it holds none: pass the
/// template, make(outer, inner_template)); insert(key, inner) swaps in one step and fails naming
/// both kinds when `inner` does not match the template; inner_id(key), erase(key),
/// inner_template(), create_inner(name), plus fd(), name(), max_entries(), untyped(), pin() and
/// from_pinned() (which takes the template from an inner map, as make(outer) does).
/// Failures name the map. Thread-safe: const members may run from several threads at once, and
/// a BPF program sees each slot change atomically.
using array_of_maps = detail::map_of_maps<std::uint32_t, map_type::array_of_maps>;
/// BPF_MAP_TYPE_HASH_OF_MAPS: K -> inner map, with array_of_maps' operations, errors and
/// thread-safety.
template <class K>
using hash_of_maps = detail::map_of_maps<K, map_type::hash_of_maps>;

}  // namespace bpfco
