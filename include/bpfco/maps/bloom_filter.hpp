// BPF_MAP_TYPE_BLOOM_FILTER: a keyless set of values that answers "maybe present" or "absent".
// Values cannot be removed; false positives happen at a rate set by the map's hash count
// (map_extra), false negatives never.
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

namespace bpfco {

/// A set of V with no false negatives: insert(v), contains(v), plus fd(), name(),
/// max_entries(), untyped(), pin() and from_pinned(). Calls are syscalls whose failures name
/// the map and the operation. Thread-safe: const members may run from several threads at once.
template <class V>
class bloom_filter : public detail::typed_map_base, public detail::view_from_pinned<bloom_filter<V>> {
    static_assert(detail::map_data<V>, "bloom filter values must be trivially copyable");

public:
    using value_type = V;  ///< the element type

    /// An empty view (no map).
    bloom_filter() = default;
    /// Checks the map's type and value size against the kernel's map info; a mismatch fails
    /// naming the map.
    static result<bloom_filter> make(bpfco::map m) {
        static constexpr std::array<map_type, 1> types{map_type::bloom_filter};
        BPFCO_TRY(m.check(types, 0, sizeof(V)));
        return bloom_filter(std::move(m));
    }

    /// Adds `value`; the filter never fills up, though false positives grow with its count.
    result<void> insert(const V& value) const { return map_.insert_bytes(nullptr, &value, update_flags::any); }
    /// True: maybe inserted (or a false positive); false: certainly never inserted.
    result<bool> contains(const V& value) const {
        V v = value;  // the kernel reads the value to test from this buffer
        return map_.lookup_bytes(nullptr, &v);
    }

private:
    using typed_map_base::typed_map_base;
};

}  // namespace bpfco
