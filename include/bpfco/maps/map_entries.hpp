// A whole map's entries as two contiguous arrays, filled in place by the kernel.
#pragma once

#include <bpfco/maps/map_cursor.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <utility>

namespace bpfco {
namespace detail {
template <class K, class V, map_type... Types>
class key_value_map;
}  // namespace detail

/// What a typed view's read_all(entries) fills: keys()[i] maps to values()[i]. The kernel
/// writes K[] and V[] directly (the view checked their sizes against the map's), so nothing is
/// copied after the syscalls. Reuse one map_entries for repeated reads: its storage, sized
/// from the map's max_entries on the first read, is kept (no allocation per read). Like a
/// std::vector: several threads may read it between reads into it, a read into it needs it alone.
template <class K, class V>
class map_entries {
public:
    /// An element: references into the arrays, valid until the next read into this object.
    using reference = std::pair<const K&, const V&>;

    /// A forward iterator over the entries, in the order the kernel handed them out.
    class iterator {
    public:
        using value_type = std::pair<const K&, const V&>;     ///< an entry, as references
        using reference = value_type;                          ///< made on access
        using iterator_category = std::input_iterator_tag;    ///< legacy tag: reference is a proxy
        using iterator_concept = std::forward_iterator_tag;   ///< for C++20 ranges: many passes
        using difference_type = std::ptrdiff_t;                ///< as std iterators

        /// An iterator into no entries.
        iterator() = default;
        /// The current entry.
        reference operator*() const { return {*k_, *v_}; }
        /// Steps to the next entry.
        iterator& operator++() {
            ++k_;
            ++v_;
            return *this;
        }
        /// Steps to the next entry, returning the current position.
        iterator operator++(int) {
            auto old = *this;
            ++*this;
            return old;
        }
        /// Same position.
        bool operator==(const iterator& o) const { return k_ == o.k_; }

    private:
        friend map_entries;
        iterator(const K* k, const V* v) : k_(k), v_(v) {}
        const K* k_ = nullptr;
        const V* v_ = nullptr;
    };

    /// How many entries the last read found.
    std::size_t size() const noexcept { return s_.size; }
    /// True when the last read found none (or failed, or there was none yet).
    bool empty() const noexcept { return s_.size == 0; }
    /// The keys, contiguous: exactly the K[] the kernel wrote.
    std::span<const K> keys() const noexcept { return {s_.keys.get(), s_.size}; }
    /// The values, contiguous: values()[i] belongs to keys()[i].
    std::span<const V> values() const noexcept { return {s_.values.get(), s_.size}; }
    /// Entry `i` (below size()).
    reference operator[](std::size_t i) const { return {s_.keys[i], s_.values[i]}; }
    /// The first entry.
    iterator begin() const noexcept { return {s_.keys.get(), s_.values.get()}; }
    /// Past the last entry.
    iterator end() const noexcept { return {s_.keys.get() + s_.size, s_.values.get() + s_.size}; }

private:
    // The typed views read into it: they have checked the map's key and value sizes.
    template <class, class, map_type...>
    friend class detail::key_value_map;
    // Replaces the contents with every entry of `m`; empty after a failure.
    result<void> read(const map& m, read_method how) { return s_.read(m, 1, how); }

    detail::entry_storage<K, V> s_;
};

}  // namespace bpfco
