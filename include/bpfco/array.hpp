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

    // Batch writes (issue 13): see map::update_batch_bytes for what a failure part way reports.
    /// Writes keys[i] -> values[i] in order; returns how many were written.
    result<std::size_t> update_batch(std::span<const std::uint32_t> keys, std::span<const V> values,
                                     update_flags flags = update_flags::any,
                                     write_method how = write_method::automatic) const {
        if (keys.size() != values.size())
            return failure(this->map_.make_error(EINVAL, "update_batch: " + std::to_string(keys.size()) + " keys but " +
                                                             std::to_string(values.size()) + " values"));
        return this->map_.update_batch_bytes(keys.data(), values.data(), keys.size(), sizeof(V), flags, how);
    }

private:
    using detail::key_value_map<std::uint32_t, V, BPF_MAP_TYPE_ARRAY>::key_value_map;
};

}  // namespace bpfco
