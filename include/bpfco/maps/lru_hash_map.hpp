// A BPF_MAP_TYPE_LRU_HASH seen as K -> V. Inserting into a full map evicts the least recently
// used entries; lookups from user space do not count as a use (the kernel's sys-only lookup).
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

namespace bpfco {

/// A BPF_MAP_TYPE_LRU_HASH as K -> V, with hash_map's operations (lookup, insert, erase, keys,
/// read_all) but no batch writes; inserting into a full map evicts instead of failing.
/// Every typed view is made with `make(map)` (or object::map<View>(name), View::from_pinned(path)),
/// which fails naming the map when its type, key or value size, or (where the map has BTF) a
/// struct's layout differs from the C++ types. Calls are syscalls whose failures name the map
/// and the operation. Thread-safe: const members may run from several threads at once; each
/// entry is read or written atomically, a whole-map read is not a snapshot.
template <class K, class V>
class lru_hash_map : public detail::erasable_map<K, V, map_type::lru_hash>,
                     public detail::view_factory<lru_hash_map<K, V>> {
public:
    /// An empty view (no map).
    lru_hash_map() = default;

private:
    friend detail::view_factory<lru_hash_map>;
    using detail::erasable_map<K, V, map_type::lru_hash>::erasable_map;
};

}  // namespace bpfco
