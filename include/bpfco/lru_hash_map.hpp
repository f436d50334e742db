// A BPF_MAP_TYPE_LRU_HASH seen as K -> V. Inserting into a full map evicts the least recently
// used entries; lookups from user space do not count as a use (the kernel's sys-only lookup).
#pragma once

#include <bpfco/detail/typed_map.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class K, class V>
class lru_hash_map : public detail::erasable_map<K, V, BPF_MAP_TYPE_LRU_HASH>,
                     public detail::view_factory<lru_hash_map<K, V>> {
public:
    lru_hash_map() = default;

private:
    friend detail::view_factory<lru_hash_map>;
    using detail::erasable_map<K, V, BPF_MAP_TYPE_LRU_HASH>::erasable_map;
};

}  // namespace bpfco
