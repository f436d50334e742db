// A BPF_MAP_TYPE_ARRAY seen as index -> V. Every index below max_entries exists (zeroed at
// creation) and cannot be erased.
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

namespace bpfco {

/// A BPF_MAP_TYPE_ARRAY as index -> V: lookup(i) (std::nullopt only past max_entries),
/// insert(i, v, flags), keys(), read_all(), plus fd(), name(), max_entries(), untyped() and pin().
/// Every typed view is made with `make(map)` (or object::map<View>(name), View::from_pinned(path)),
/// which fails naming the map when its type, key or value size, or (where the map has BTF) a
/// struct's layout differs from the C++ types. Calls are syscalls whose failures name the map
/// and the operation. Thread-safe: const members may run from several threads at once; each
/// entry is read or written atomically, a whole-map read is not a snapshot.
template <class V>
class array : public detail::key_value_map<std::uint32_t, V, map_type::array>,
              public detail::view_factory<array<V>> {
public:
    /// An empty view (no map).
    array() = default;

    /// Writes keys[i] -> values[i] in order; returns how many were written (see
    /// map::insert_batch_bytes for what a failure part way reports). Spans of different
    /// sizes fail (EINVAL) before anything is written.
    result<std::size_t> insert_batch(std::span<const std::uint32_t> keys, std::span<const V> values,
                                     update_flags flags = update_flags::any,
                                     write_method how = write_method::automatic) const {
        if (keys.size() != values.size())
            return failure(this->map_.make_error(EINVAL, "insert_batch: " + std::to_string(keys.size()) + " keys but " +
                                                             std::to_string(values.size()) + " values"));
        return this->map_.insert_batch_bytes(keys.data(), values.data(), keys.size(), sizeof(V), flags, how);
    }

private:
    friend detail::view_factory<array>;
    using detail::key_value_map<std::uint32_t, V, map_type::array>::key_value_map;
};

}  // namespace bpfco
