// A BPF_MAP_TYPE_PERCPU_ARRAY seen as index -> one V per possible CPU.
#pragma once

#include <bpfco/per_cpu.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class V>
class per_cpu_array : public detail::per_cpu_map<std::uint32_t, V, BPF_MAP_TYPE_PERCPU_ARRAY>,
                      public detail::view_factory<per_cpu_array<V>> {
    using base = detail::per_cpu_map<std::uint32_t, V, BPF_MAP_TYPE_PERCPU_ARRAY>;

public:
    per_cpu_array() = default;

private:
    friend detail::view_factory<per_cpu_array>;
    using base::base;
};

}  // namespace bpfco
