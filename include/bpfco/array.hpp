// A BPF_MAP_TYPE_ARRAY seen as index -> V. Every index below max_entries exists (zeroed at
// creation) and cannot be erased.
#pragma once

#include <bpfco/detail/typed_map.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class V>
class array : public detail::key_value_map<std::uint32_t, V, BPF_MAP_TYPE_ARRAY>,
              public detail::view_factory<array<V>> {
public:
    array() = default;

private:
    friend detail::view_factory<array>;
    using detail::key_value_map<std::uint32_t, V, BPF_MAP_TYPE_ARRAY>::key_value_map;
};

}  // namespace bpfco
