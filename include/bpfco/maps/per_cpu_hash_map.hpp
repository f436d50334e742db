// A BPF_MAP_TYPE_PERCPU_HASH (or LRU_PERCPU_HASH) seen as K -> one V per possible CPU.
#pragma once

#include <bpfco/maps/per_cpu.hpp>

namespace bpfco {

/// A BPF_MAP_TYPE_PERCPU_HASH or LRU_PERCPU_HASH as K -> one V per possible CPU: lookup(k)
/// (a vector indexed by CPU, std::nullopt when absent), lookup_sum(k), insert(k, per_cpu_values,
/// flags) (exactly cpus() values, else EINVAL), erase(k), read_all(), read_all_summed(), cpus(),
/// plus fd(), name(), max_entries(), untyped(). make() also fails when the possible CPUs cannot
/// be read.
/// Every typed view is made with `make(map)` (or object::map<View>(name), View::from_pinned(path)),
/// which fails naming the map when its type, key or value size, or (where the map has BTF) a
/// struct's layout differs from the C++ types. Calls are syscalls whose failures name the map
/// and the operation. Thread-safe: const members may run from several threads at once; each
/// entry is read or written atomically, a whole-map read is not a snapshot.
template <class K, class V>
class per_cpu_hash_map
    : public detail::per_cpu_map<K, V, map_type::percpu_hash, map_type::lru_percpu_hash>,
      public detail::view_factory<per_cpu_hash_map<K, V>> {
    using base = detail::per_cpu_map<K, V, map_type::percpu_hash, map_type::lru_percpu_hash>;

public:
    /// An empty view (no map).
    per_cpu_hash_map() = default;
    /// Returns false when the key was absent.
    result<bool> erase(const K& key) const { return this->map_.erase_bytes(&key); }

    /// Removes keys in order; an absent key fails. Returns how many were removed.
    result<std::size_t> erase_batch(std::span<const K> keys, write_method how = write_method::automatic) const {
        return this->map_.erase_batch_bytes(keys.data(), keys.size(), how);
    }

private:
    friend detail::view_factory<per_cpu_hash_map>;
    using base::base;
};

}  // namespace bpfco
