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

    // Batch writes (issue 13): see map::update_batch_bytes for what a failure part way reports.
    /// Writes keys[i] -> values[i] in order; returns how many were written.
    result<std::size_t> update_batch(std::span<const K> keys, std::span<const V> values,
                                     update_flags flags = update_flags::any,
                                     write_method how = write_method::automatic) const {
        if (keys.size() != values.size())
            return failure(this->map_.make_error(EINVAL, "update_batch: " + std::to_string(keys.size()) + " keys but " +
                                                             std::to_string(values.size()) + " values"));
        return this->map_.update_batch_bytes(keys.data(), values.data(), keys.size(), sizeof(V), flags, how);
    }
    /// Removes keys in order; an absent key fails. Returns how many were removed.
    result<std::size_t> delete_batch(std::span<const K> keys, write_method how = write_method::automatic) const {
        return this->map_.delete_batch_bytes(keys.data(), keys.size(), how);
    }

private:
    using detail::erasable_map<K, V, BPF_MAP_TYPE_HASH>::erasable_map;
};

}  // namespace bpfco
