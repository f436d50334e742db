// A BPF_MAP_TYPE_ARRAY seen as index -> V. Every index below max_entries exists (zeroed at
// creation) and cannot be erased.
#pragma once

#include <bpfco/detail/typed_map.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class V>
class array : public detail::key_value_map<std::uint32_t, V, BPF_MAP_TYPE_ARRAY> {
public:
    array() = default;
    /// Checks the map's type and value size against the kernel's map info.
    static result<array> make(bpfco::map m) {
        BPFCO_TRY(array::check(m));
        return array(std::move(m));
    }

private:
    using detail::key_value_map<std::uint32_t, V, BPF_MAP_TYPE_ARRAY>::key_value_map;
};

}  // namespace bpfco
