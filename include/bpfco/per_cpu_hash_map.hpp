// A BPF_MAP_TYPE_PERCPU_HASH (or LRU_PERCPU_HASH) seen as K -> one V per possible CPU.
#pragma once

#include <bpfco/per_cpu.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class K, class V>
class per_cpu_hash_map
    : public detail::per_cpu_map<K, V, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH> {
    using base = detail::per_cpu_map<K, V, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH>;

public:
    per_cpu_hash_map() = default;
    /// Checks the map's type and key/value sizes against the kernel's map info.
    static result<per_cpu_hash_map> make(bpfco::map m) {
        BPFCO_TRY(std::size_t cpus, base::check(m));
        return per_cpu_hash_map(std::move(m), cpus);
    }
    /// Returns false when the key was absent.
    result<bool> erase(const K& key) const { return this->map_.erase_bytes(&key); }

private:
    using base::base;
};

}  // namespace bpfco
