// A BPF_MAP_TYPE_HASH seen as K -> V.
#pragma once

#include <bpfco/detail/typed_map.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class K, class V>
class hash_map : public detail::erasable_map<K, V, BPF_MAP_TYPE_HASH>,
                 public detail::view_factory<hash_map<K, V>> {
public:
    hash_map() = default;

private:
    friend detail::view_factory<hash_map>;
    using detail::erasable_map<K, V, BPF_MAP_TYPE_HASH>::erasable_map;
};

}  // namespace bpfco
