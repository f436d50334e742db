// A BPF_MAP_TYPE_PERCPU_HASH (or LRU_PERCPU_HASH) seen as K -> one V per possible CPU.
#pragma once

#include <bpfco/per_cpu.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class K, class V>
class per_cpu_hash_map
    : public detail::per_cpu_map<K, V, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH>,
      public detail::view_factory<per_cpu_hash_map<K, V>> {
    using base = detail::per_cpu_map<K, V, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH>;

public:
    per_cpu_hash_map() = default;
    /// Returns false when the key was absent.
    result<bool> erase(const K& key) const { return this->map_.erase_bytes(&key); }

private:
    friend detail::view_factory<per_cpu_hash_map>;
    using base::base;
};

}  // namespace bpfco
