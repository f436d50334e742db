// A BPF_MAP_TYPE_HASH seen as K -> V.
#pragma once

#include <bpfco/detail/typed_map.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class K, class V>
class hash_map : public detail::erasable_map<K, V, BPF_MAP_TYPE_HASH> {
public:
    hash_map() = default;
    /// Checks the map's type and key/value sizes against the kernel's map info.
    static result<hash_map> make(bpfco::map m) {
        BPFCO_TRY(hash_map::check(m));
        return hash_map(std::move(m));
    }

private:
    using detail::erasable_map<K, V, BPF_MAP_TYPE_HASH>::erasable_map;
};

}  // namespace bpfco
