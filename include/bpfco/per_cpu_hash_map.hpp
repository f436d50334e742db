// A BPF_MAP_TYPE_PERCPU_HASH (or LRU_PERCPU_HASH) seen as K -> one V per possible CPU.
#pragma once

#include <bpfco/per_cpu.hpp>

#include <linux/bpf.h>

namespace bpfco {

template <class K, class V>
class per_cpu_hash_map
    : public detail::per_cpu_map<K, V, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH> {
    using base = detail::per_cpu_map<K, V, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH>;

public:
    per_cpu_hash_map() = default;
    /// Checks the map's type and key/value sizes against the kernel's map info.
    static result<per_cpu_hash_map> make(bpfco::map m) {
        BPFCO_TRY(std::size_t cpus, base::check(m));
        return per_cpu_hash_map(std::move(m), cpus);
    }
    /// Returns false when the key was absent.
    result<bool> erase(const K& key) const { return this->map_.erase_bytes(&key); }

    // Batch writes (issue 13): see map::update_batch_bytes for what a failure part way reports.
    /// Writes keys[i] -> per_cpu_values[i * cpus() + c] for every possible CPU c, in order;
    /// returns how many keys were written.
    result<std::size_t> update_batch(std::span<const K> keys, std::span<const V> per_cpu_values,
                                     update_flags flags = update_flags::any,
                                     write_method how = write_method::automatic) const {
        const std::size_t cpus = this->cpus();
        if (per_cpu_values.size() != keys.size() * cpus)
            return failure(this->map_.make_error(EINVAL, "update_batch: needs one value per possible CPU (" +
                                                             std::to_string(cpus) + ") for each of " +
                                                             std::to_string(keys.size()) + " keys, got " +
                                                             std::to_string(per_cpu_values.size())));
        constexpr std::size_t stride = detail::per_cpu_stride<V>;
        std::vector<std::byte> raw(per_cpu_values.size() * stride);
        for (std::size_t i = 0; i < per_cpu_values.size(); ++i)
            std::memcpy(raw.data() + i * stride, &per_cpu_values[i], sizeof(V));
        return this->map_.update_batch_bytes(keys.data(), raw.data(), keys.size(), cpus * stride, flags, how);
    }
    /// Removes keys in order; an absent key fails. Returns how many were removed.
    result<std::size_t> delete_batch(std::span<const K> keys, write_method how = write_method::automatic) const {
        return this->map_.delete_batch_bytes(keys.data(), keys.size(), how);
    }

private:
    using base::base;
};

}  // namespace bpfco
