// BPF_MAP_TYPE_QUEUE (FIFO) and, through the same template, BPF_MAP_TYPE_STACK (LIFO, stack.hpp):
// keyless maps with push, pop and peek.
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

namespace bpfco {

namespace detail {
/// BPF_MAP_LOOKUP_AND_DELETE_ELEM with no key; false when the map is empty.
result<bool> pop_bytes(const bpfco::map& m, void* value);

template <class V, map_type Type>
class keyless_map : public typed_map_base, public view_factory<keyless_map<V, Type>> {
    static_assert(map_data<V>, "map values must be trivially copyable");

public:
    using value_type = V;

    keyless_map() = default;
    static result<void> check(const bpfco::map& m) {
        static constexpr std::array<map_type, 1> types{Type};
        BPFCO_TRY(m.check(types, 0, sizeof(V)));
        return check_map_types<void, V>(m.fd(), m.name());
    }

    /// update_flags::exist makes a full map drop its oldest element instead of failing.
    result<void> push(const V& value, update_flags flags = update_flags::any) const {
        return map_.insert_bytes(nullptr, &value, flags);
    }
    /// The next element, removed; std::nullopt when the map is empty.
    result<std::optional<V>> pop() const {
        V v{};
        BPFCO_TRY(bool found, pop_bytes(map_, &v));
        if (!found) return std::optional<V>{};
        return std::optional<V>{v};
    }
    /// The next element, left in place; std::nullopt when the map is empty.
    result<std::optional<V>> peek() const {
        V v{};
        BPFCO_TRY(bool found, map_.lookup_bytes(nullptr, &v));
        if (!found) return std::optional<V>{};
        return std::optional<V>{v};
    }

private:
    friend view_factory<keyless_map>;
    using typed_map_base::typed_map_base;
};
}  // namespace detail

/// A BPF_MAP_TYPE_QUEUE of V, first in, first out: make(map) (fails naming the map when its
/// type or value size differs from V), push(v, flags) (a full map fails with E2BIG unless
/// flags is update_flags::exist, which drops the oldest element), pop() and peek()
/// (std::nullopt when empty), plus fd(), name(), max_entries(), untyped() and pin(). Calls are
/// syscalls whose failures name the map and the operation. Thread-safe: const members may run
/// from several threads at once; each pop removes one element atomically, so concurrent
/// poppers never get the same one.
template <class V>
using queue = detail::keyless_map<V, map_type::queue>;

}  // namespace bpfco
