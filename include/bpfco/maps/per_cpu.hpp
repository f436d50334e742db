// Per-CPU values: the kernel keeps one copy of the value per possible CPU (not only the online
// ones) and copies them out back to back, each rounded up to 8 bytes.
#pragma once

#include <bpfco/cpus.hpp>
#include <bpfco/maps/detail/typed_map.hpp>

#include <cstddef>
#include <numeric>
#include <span>
#include <type_traits>

namespace bpfco {

/// The sum of the per-CPU copies of a counter (V's operator+, from V{}).
template <class V>
V sum(std::span<const V> per_cpu) {
    return std::accumulate(per_cpu.begin(), per_cpu.end(), V{});
}

namespace detail {

/// Bytes between two CPUs' copies of a V in the kernel's per-CPU layout.
template <class V>
constexpr std::size_t per_cpu_stride = (sizeof(V) + 7) / 8 * 8;

/// Per-CPU hash and array maps: every value is a std::vector<V> of one V per possible CPU.
template <class K, class V, map_type... Types>
class per_cpu_map : public typed_map_base {
    static_assert(detail::map_data<K> && detail::map_data<V>, "map keys and values must be trivially copyable");

public:
    using key_type = K;
    using value_type = V;

    /// One value per possible CPU, indexed by CPU number.
    result<std::optional<std::vector<V>>> lookup(const K& key) const {
        std::vector<std::byte> raw(bytes());
        BPFCO_TRY(bool found, map_.lookup_bytes(&key, raw.data()));
        if (!found) return std::optional<std::vector<V>>{};
        return std::optional<std::vector<V>>{decode(raw.data())};
    }
    /// The per-CPU values added up.
    result<std::optional<V>> lookup_sum(const K& key) const {
        BPFCO_TRY(auto v, lookup(key));
        if (!v) return std::optional<V>{};
        return std::optional<V>{sum<V>(*v)};
    }
    /// `per_cpu` holds one value per possible CPU.
    result<void> insert(const K& key, std::span<const V> per_cpu, update_flags flags = update_flags::any) const {
        if (per_cpu.size() != cpus_)
            return failure(map_.make_error(EINVAL, fmt_count(per_cpu.size())));
        std::vector<std::byte> raw(bytes());
        for (std::size_t c = 0; c < cpus_; ++c)
            std::memcpy(raw.data() + c * per_cpu_stride<V>, &per_cpu[c], sizeof(V));
        return map_.insert_bytes(&key, raw.data(), flags);
    }
    /// Every key with its per-CPU values; `how` picks the batch or the per-key path.
    result<std::vector<std::pair<K, std::vector<V>>>> read_all(read_method how = read_method::automatic) const {
        return collect(how, [&](const K& k, const std::byte* v) { return std::pair{k, decode(v)}; });
    }
    /// Every key with its per-CPU values added up (what map_watch reports).
    result<std::vector<std::pair<K, V>>> read_all_summed(read_method how = read_method::automatic) const {
        return collect(how, [&](const K& k, const std::byte* v) {
            V total{};
            for (std::size_t c = 0; c < cpus_; ++c) total += load<V>(v + c * per_cpu_stride<V>);
            return std::pair{k, total};
        });
    }
    /// Batch write (see map::insert_batch_bytes for what a failure part way reports): keys[i] ->
    /// per_cpu_values[i * cpus() + c] for every possible CPU c, in order; returns how many keys
    /// were written. A value count other than keys.size() * cpus() fails (EINVAL) before anything
    /// is written.
    result<std::size_t> insert_batch(std::span<const K> keys, std::span<const V> per_cpu_values,
                                     update_flags flags = update_flags::any,
                                     write_method how = write_method::automatic) const {
        if (per_cpu_values.size() != keys.size() * cpus_)
            return failure(map_.make_error(EINVAL, "insert_batch: needs one value per possible CPU (" +
                                                       std::to_string(cpus_) + ") for each of " +
                                                       std::to_string(keys.size()) + " keys, got " +
                                                       std::to_string(per_cpu_values.size())));
        std::vector<std::byte> raw(per_cpu_values.size() * per_cpu_stride<V>);
        for (std::size_t i = 0; i < per_cpu_values.size(); ++i)
            std::memcpy(raw.data() + i * per_cpu_stride<V>, &per_cpu_values[i], sizeof(V));
        return map_.insert_batch_bytes(keys.data(), raw.data(), keys.size(), bytes(), flags, how);
    }
    /// The number of values each lookup returns.
    std::size_t cpus() const noexcept { return cpus_; }

protected:
    per_cpu_map() = default;
    // check() has read the possible CPUs already: the value is cached.
    explicit per_cpu_map(bpfco::map m) : typed_map_base(std::move(m)), cpus_(possible_cpus().value()) {}

    static result<void> check(const bpfco::map& m) {
        static constexpr std::array<map_type, sizeof...(Types)> types{Types...};
        BPFCO_TRY(m.check(types, sizeof(K), sizeof(V)));
        BPFCO_TRY(possible_cpus());
        return check_map_types<K, V>(m.fd(), m.name());
    }

private:
    std::size_t bytes() const noexcept { return cpus_ * per_cpu_stride<V>; }
    std::vector<V> decode(const std::byte* raw) const {
        std::vector<V> v(cpus_);
        for (std::size_t c = 0; c < cpus_; ++c) v[c] = load<V>(raw + c * per_cpu_stride<V>);
        return v;
    }
    std::string fmt_count(std::size_t n) const {
        return "insert needs one value per possible CPU (" + std::to_string(cpus_) + "), got " +
               std::to_string(n);
    }
    // Every entry read in place as raw per-CPU bytes, then made into one element each.
    template <class F>
    auto collect(read_method how, F&& make) const
        -> result<std::vector<std::invoke_result_t<F&, const K&, const std::byte*>>> {
        entry_storage<K, std::byte> raw;
        BPFCO_TRY(raw.read(map_, bytes(), how));
        std::vector<std::invoke_result_t<F&, const K&, const std::byte*>> out;
        out.reserve(raw.size);
        for (std::size_t i = 0; i < raw.size; ++i) out.push_back(make(raw.keys[i], raw.values.get() + i * bytes()));
        return out;
    }

    std::size_t cpus_ = 0;
};

}  // namespace detail
}  // namespace bpfco
