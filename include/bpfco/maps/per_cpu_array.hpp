// A BPF_MAP_TYPE_PERCPU_ARRAY seen as index -> one V per possible CPU.
#pragma once

#include <bpfco/maps/per_cpu.hpp>

namespace bpfco {

/// A BPF_MAP_TYPE_PERCPU_ARRAY as index -> one V per possible CPU: lookup(i) (a vector indexed
/// by CPU), lookup_sum(i), insert(i, per_cpu_values, flags) (exactly cpus() values, else
/// EINVAL), read_all(), read_all_summed(), cpus(), plus fd(), name(), max_entries(), untyped().
/// make() also fails when the possible CPUs cannot be read.
/// Every typed view is made with `make(map)` (or object::map<View>(name), View::from_pinned(path)),
/// which fails naming the map when its type, key or value size, or (where the map has BTF) a
/// struct's layout differs from the C++ types. Calls are syscalls whose failures name the map
/// and the operation. Thread-safe: const members may run from several threads at once; each
/// entry is read or written atomically, a whole-map read is not a snapshot.
template <class V>
class per_cpu_array : public detail::per_cpu_map<std::uint32_t, V, map_type::percpu_array>,
                      public detail::view_factory<per_cpu_array<V>> {
    using base = detail::per_cpu_map<std::uint32_t, V, map_type::percpu_array>;

public:
    /// An empty view (no map).
    per_cpu_array() = default;


private:
    friend detail::view_factory<per_cpu_array>;
    using base::base;
};

}  // namespace bpfco
