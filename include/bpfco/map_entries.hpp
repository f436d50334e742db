// A whole map's entries as two contiguous arrays, filled in place by the kernel.
#pragma once

#include <bpfco/map_cursor.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <utility>

namespace bpfco {
namespace detail {
template <class K, class V, std::uint32_t... Types>
class key_value_map;
}  // namespace detail

/// What a typed view's read_all(entries) fills: keys()[i] maps to values()[i]. The kernel
/// writes K[] and V[] directly (the view checked their sizes against the map's), so nothing is
/// copied after the syscalls. Reuse one map_entries for repeated reads: its storage, sized
/// from the map's max_entries on the first read, is kept (no allocation per read).
template <class K, class V>
class map_entries {
public:
    /// An element: references into the arrays, valid until the next read into this object.
    using reference = std::pair<const K&, const V&>;

    class iterator {
    public:
        using value_type = std::pair<const K&, const V&>;
        using reference = value_type;
        using iterator_category = std::input_iterator_tag;  // reference is not a real reference
        using difference_type = std::ptrdiff_t;
        using iterator_concept = std::forward_iterator_tag;

        iterator() = default;
        reference operator*() const { return {*k_, *v_}; }
        iterator& operator++() {
            ++k_;
            ++v_;
            return *this;
        }
        iterator operator++(int) {
            auto old = *this;
            ++*this;
            return old;
        }
        bool operator==(const iterator& o) const { return k_ == o.k_; }

    private:
        friend map_entries;
        iterator(const K* k, const V* v) : k_(k), v_(v) {}
        const K* k_ = nullptr;
        const V* v_ = nullptr;
    };

    std::size_t size() const noexcept { return s_.size; }
    bool empty() const noexcept { return s_.size == 0; }
    std::span<const K> keys() const noexcept { return {s_.keys.get(), s_.size}; }
    std::span<const V> values() const noexcept { return {s_.values.get(), s_.size}; }
    reference operator[](std::size_t i) const { return {s_.keys[i], s_.values[i]}; }
    iterator begin() const noexcept { return {s_.keys.get(), s_.values.get()}; }
    iterator end() const noexcept { return {s_.keys.get() + s_.size, s_.values.get() + s_.size}; }

private:
    // The typed views read into it: they have checked the map's key and value sizes.
    template <class, class, std::uint32_t...>
    friend class detail::key_value_map;
    // Replaces the contents with every entry of `m`; empty after a failure.
    result<void> read(const map& m, read_method how) { return s_.read(m, 1, how); }

    detail::entry_storage<K, V> s_;
};

}  // namespace bpfco
