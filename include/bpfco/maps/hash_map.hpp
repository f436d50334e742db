// A BPF_MAP_TYPE_HASH seen as K -> V.
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

namespace bpfco {

/// A BPF_MAP_TYPE_HASH as K -> V: lookup(k) (std::nullopt when absent), insert(k, v, flags),
/// erase(k) (false when absent), keys(), read_all(), plus fd(), name(), max_entries() and
/// untyped(). A full map makes insert fail with E2BIG.
/// Every typed view is made with `make(map)` (or object::map<View>(name), View::from_pinned(path)),
/// which fails naming the map when its type, key or value size, or (where the map has BTF) a
/// struct's layout differs from the C++ types. Calls are syscalls whose failures name the map
/// and the operation. Thread-safe: const members may run from several threads at once; each
/// entry is read or written atomically, a whole-map read is not a snapshot.
template <class K, class V>
class hash_map : public detail::erasable_map<K, V, map_type::hash>,
                 public detail::view_factory<hash_map<K, V>> {
public:
    /// An empty view (no map).
    hash_map() = default;

    /// Writes keys[i] -> values[i] in order; returns how many were written (see
    /// map::insert_batch_bytes for what a failure part way reports). Spans of different
    /// sizes fail (EINVAL) before anything is written.
    result<std::size_t> insert_batch(std::span<const K> keys, std::span<const V> values,
                                     update_flags flags = update_flags::any,
                                     write_method how = write_method::automatic) const {
        if (keys.size() != values.size())
            return failure(this->map_.make_error(EINVAL, "insert_batch: " + std::to_string(keys.size()) + " keys but " +
                                                             std::to_string(values.size()) + " values"));
        return this->map_.insert_batch_bytes(keys.data(), values.data(), keys.size(), sizeof(V), flags, how);
    }
    /// Removes keys in order; an absent key fails. Returns how many were removed.
    result<std::size_t> erase_batch(std::span<const K> keys, write_method how = write_method::automatic) const {
        return this->map_.erase_batch_bytes(keys.data(), keys.size(), how);
    }

private:
    friend detail::view_factory<hash_map>;
    using detail::erasable_map<K, V, map_type::hash>::erasable_map;
};

}  // namespace bpfco
