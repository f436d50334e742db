// Bulk reads of a whole map. The kernel's batch lookup hands back an in/out token that callers
// of other loaders got wrong (cilium/ebpf #1223); the cursor keeps it inside and never shows it.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/map.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpfco {

/// How a bulk read walks a map.
enum class read_method {
    automatic,  ///< batch where the kernel and the map type support it, else per_key
    batch,      ///< BPF_MAP_LOOKUP_BATCH only (an error where unsupported)
    per_key,    ///< BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM, one pair of syscalls per entry
};

/// Walks a map chunk by chunk as raw bytes; the typed views' read_all() is built on it.
/// Entries added or removed while a walk is under way may or may not be seen (kernel semantics).
class map_cursor {
public:
    /// `value_bytes`: what the kernel copies out per entry (per-CPU maps: the 8-byte-rounded
    /// value times the possible CPUs). The map must outlive the cursor.
    map_cursor(const map& m, std::size_t value_bytes, read_method how = read_method::automatic);

    /// Appends the next chunk of keys and values (each packed, key_size / value_bytes apart);
    /// returns how many entries it appended, 0 once the walk is over.
    result<std::size_t> next(std::vector<std::byte>& keys, std::vector<std::byte>& values);

    /// The method in use: automatic resolves to batch or per_key on the first chunk.
    read_method method() const noexcept { return how_; }

private:
    result<std::size_t> next_batch(std::vector<std::byte>& keys, std::vector<std::byte>& values);
    result<std::size_t> next_per_key(std::vector<std::byte>& keys, std::vector<std::byte>& values);

    const map* map_;
    std::size_t value_bytes_;
    read_method how_;
    bool started_ = false;
    bool done_ = false;
    std::uint32_t chunk_;
    std::vector<std::byte> token_;     // batch: the kernel's position (bucket or key)
    std::vector<std::byte> next_token_;  // batch: where the kernel writes the next position
    std::vector<std::byte> last_key_;  // per_key: where get-next-key continues from
};

}  // namespace bpfco
