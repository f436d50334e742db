// Bulk reads of a whole map. The kernel's batch lookup hands back an in/out token that callers
// of other loaders got wrong (cilium/ebpf #1223); the cursor keeps it inside and never shows it.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/maps/map.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace bpfco {

/// How a bulk read walks a map.
enum class read_method {
    automatic,  ///< batch where the kernel and the map type support it, else per_key
    batch,      ///< BPF_MAP_LOOKUP_BATCH only (an error where unsupported)
    per_key,    ///< BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM, one pair of syscalls per entry
};

/// Walks a map chunk by chunk as raw bytes, straight into the caller's storage; the typed views'
/// read_all() is built on it. Entries added or removed while a walk is under way may or may not
/// be seen (kernel semantics). Errors name the map and the syscall that failed. Not
/// synchronised: one thread walks a cursor at a time (other threads may use the map meanwhile).
class map_cursor {
public:
    /// `value_bytes`: what the kernel copies out per entry (per-CPU maps: the 8-byte-rounded
    /// value times the possible CPUs). The map must outlive the cursor.
    map_cursor(const map& m, std::size_t value_bytes, read_method how = read_method::automatic);

    /// Reads the next entries into `keys` and `values` (each packed, key_size / value_bytes
    /// apart), at most chunk() and at most as many as both have room for; returns how many.
    /// Returns 0 once done(), and also when the next hash bucket holds more entries than that
    /// room: call again with room for chunk() entries.
    result<std::size_t> next(std::span<std::byte> keys, std::span<std::byte> values);

    /// True once the walk has reached the end of the map.
    bool done() const noexcept { return done_; }
    /// The most entries one call reads (grows when a hash bucket holds more).
    std::size_t chunk() const noexcept { return chunk_; }
    /// The method in use: automatic resolves to batch or per_key on the first chunk read.
    read_method method() const noexcept { return how_; }

private:
    result<std::size_t> next_batch(std::span<std::byte> keys, std::span<std::byte> values, std::uint32_t room);
    result<std::size_t> next_per_key(std::span<std::byte> keys, std::span<std::byte> values, std::uint32_t room);

    const map* map_;
    std::size_t value_bytes_;
    read_method how_;
    bool started_ = false;
    bool done_ = false;
    std::uint32_t chunk_;
    std::vector<std::byte> token_;       // batch: the kernel's position (bucket or key)
    std::vector<std::byte> next_token_;  // batch: where the kernel writes the next position
    std::vector<std::byte> last_key_;    // per_key: where get-next-key continues from
};

namespace detail {

/// Storage for a whole-map read, reused from one read to the next: keys as K[], values as
/// `per_entry` VE each. Allocated without zero-filling: the kernel writes every entry that is
/// read back, and pages it never writes are never touched.
template <class K, class VE>
struct entry_storage {
    std::unique_ptr<K[]> keys;
    std::unique_ptr<VE[]> values;
    std::size_t capacity = 0;
    std::size_t size = 0;

    /// Replaces the contents with every entry of `m`; empty after a failure.
    result<void> read(const map& m, std::size_t per_entry, read_method how) {
        map_cursor cursor(m, per_entry * sizeof(VE), how);
        size = 0;
        // Room for one entry more than the map holds: a full map's walk then ends on the call
        // that reads its last entries instead of on one more with no room. Capped at 64 MiB
        // because a sparse (or per-CPU) map may declare far more than it holds; past the cap the
        // storage doubles as the walk needs.
        if (capacity == 0) {
            const std::size_t entry_bytes = sizeof(K) + per_entry * sizeof(VE);
            const std::size_t cap = std::max<std::size_t>(1, (std::size_t{64} << 20) / entry_bytes);
            grow(std::min<std::size_t>(std::size_t{m.info().max_entries} + 1, cap), per_entry);
        }
        for (;;) {
            if (size == capacity) grow(capacity * 2, per_entry);
            auto got = cursor.next(std::as_writable_bytes(std::span(keys.get() + size, capacity - size)),
                                   std::as_writable_bytes(std::span(values.get() + size * per_entry,
                                                                    (capacity - size) * per_entry)));
            if (!got) {
                size = 0;  // a failed read leaves no partial walk behind
                return failure(std::move(got).error());
            }
            size += got.value();
            if (cursor.done()) return boost::outcome_v2::success();
            if (got.value() == 0) grow(std::max(capacity * 2, size + cursor.chunk()), per_entry);
        }
    }

private:
    void grow(std::size_t n, std::size_t per_entry) {
        auto k = std::make_unique_for_overwrite<K[]>(n);
        auto v = std::make_unique_for_overwrite<VE[]>(n * per_entry);
        if (size > 0) {
            std::memcpy(k.get(), keys.get(), size * sizeof(K));
            std::memcpy(v.get(), values.get(), size * per_entry * sizeof(VE));
        }
        keys = std::move(k);
        values = std::move(v);
        capacity = n;
    }
};

}  // namespace detail
}  // namespace bpfco
