// A BPF_MAP_TYPE_PERCPU_ARRAY seen as index -> one V per possible CPU.
#pragma once

#include <bpfco/per_cpu.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class V>
class per_cpu_array : public detail::per_cpu_map<std::uint32_t, V, BPF_MAP_TYPE_PERCPU_ARRAY> {
    using base = detail::per_cpu_map<std::uint32_t, V, BPF_MAP_TYPE_PERCPU_ARRAY>;

public:
    per_cpu_array() = default;
    /// Checks the map's type and value size against the kernel's map info.
    static result<per_cpu_array> make(bpfco::map m) {
        BPFCO_TRY(std::size_t cpus, base::check(m));
        return per_cpu_array(std::move(m), cpus);
    }

private:
    using base::base;
};

}  // namespace bpfco
