// Record walking for BPF ring buffers and perf rings over plain memory: no fds, no mmap, so the
// parsing is unit-tested on bytes (tests/test_ring_records.cpp) and ring_buffer/perf_buffer only
// add the plumbing. Layouts follow the kernel's kernel/bpf/ringbuf.c and
// include/uapi/linux/perf_event.h.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace bpfco::ring_records {

// ---- BPF ring buffer ----------------------------------------------------------------------

inline constexpr std::uint32_t busy_bit = 1u << 31;     // BPF_RINGBUF_BUSY_BIT
inline constexpr std::uint32_t discard_bit = 1u << 30;  // BPF_RINGBUF_DISCARD_BIT
inline constexpr std::uint32_t header_size = 8;         // BPF_RINGBUF_HDR_SZ

/// Space a record of `len` payload bytes takes in the ring: header plus payload, 8-byte aligned.
constexpr std::uint64_t record_span(std::uint32_t len) noexcept {
    return (std::uint64_t{len} + header_size + 7) & ~std::uint64_t{7};
}

enum class walk_stop {
    caught_up,  ///< reached producer_pos
    busy,       ///< the next record is reserved but not submitted yet: wait for it
    limit,      ///< max_records reached
    corrupt,    ///< a length that cannot be (past producer_pos or larger than the ring)
};

/// What a walk over the ring found: how far it got, how many records, why it stopped.
struct walk_result {
    std::uint64_t end = 0;      ///< position after the last record walked (commit up to here)
    std::size_t records = 0;    ///< submitted records in [begin, end), discarded ones not counted
    walk_stop stop = walk_stop::caught_up;  ///< why the walk stopped at `end`
};

/// The ring's data area as the kernel maps it: `capacity` bytes (a power of two) mapped twice
/// back to back, so a record that wraps the end is contiguous. `data.size()` is 2 x capacity.
struct ring_view {
    const std::byte* data = nullptr;  ///< start of the first of the two mappings
    std::uint64_t capacity = 0;       ///< bytes in one mapping (a power of two); 0: no ring

    /// A span that is not two copies of a power-of-two area (8-byte aligned) gives an empty view
    /// (capacity 0): every walk over it stops as corrupt.
    static ring_view over(std::span<const std::byte> doubled) noexcept {
        const std::uint64_t cap = doubled.size() / 2;
        if (cap < header_size || (cap & (cap - 1)) != 0 || doubled.size() != 2 * cap ||
            reinterpret_cast<std::uintptr_t>(doubled.data()) % 8 != 0)
            return {};
        return {doubled.data(), cap};
    }

    /// The 32-bit length word of the header at `pos` (BUSY and DISCARD bits included).
    std::uint32_t load_header(std::uint64_t pos) const noexcept {
        // atomic_ref needs a mutable object; the area may be mapped read-only, and only loads are
        // made through this reference.
        auto* word = reinterpret_cast<std::uint32_t*>(const_cast<std::byte*>(data + (pos & (capacity - 1))));
        // acquire: pairs with the kernel's xchg of the header in bpf_ringbuf_commit(), so the
        // payload written before the submit is visible once BUSY reads clear.
        return std::atomic_ref<std::uint32_t>(*word).load(std::memory_order_acquire);
    }

    /// The payload of the record at `pos` whose header holds `len` (flags are masked off). No
    /// check: the caller has validated `len` against the producer position.
    std::span<const std::byte> payload(std::uint64_t pos, std::uint32_t len) const noexcept {
        return {data + (pos & (capacity - 1)) + header_size, len & ~(busy_bit | discard_bit)};
    }
};

/// Where find_submitted() stopped: on a submitted record, or on the reason it found none.
struct found_record {
    std::uint64_t pos = 0;   ///< the record's position, or where the search stopped
    std::uint32_t len = 0;   ///< the record's payload length (flags cleared); 0 when none found
    bool found = false;      ///< a submitted record is at `pos`
    walk_stop stop = walk_stop::caught_up;  ///< why none was found (meaningless when found)
};

/// Whether a walk may start at `begin` with the producer at `producer_pos`: both 8-byte aligned
/// (the kernel keeps them so), the producer at or after `begin` (no wrap past 2^64) and at most a
/// ring ahead. The consumer page is writable by anyone holding the map fd, so this is checked,
/// not assumed: a bad position is corrupt, never a misaligned load or a walk that goes round.
inline bool positions_valid(const ring_view& ring, std::uint64_t begin, std::uint64_t producer_pos) noexcept {
    return ring.capacity != 0 && begin <= producer_pos && producer_pos - begin <= ring.capacity &&
           ((begin | producer_pos) & 7) == 0;
}

/// From `pos`, skips discarded records up to the first submitted one that starts before `limit`.
/// Loads each header once (acquire). Preconditions, checked once per batch by the caller:
/// `ring.capacity != 0`, `pos <= limit <= producer_pos` and `producer_pos - pos <= capacity`.
/// Stops at a BUSY record (never skips it), at `limit` (caught_up when limit is producer_pos,
/// else limit), or at a length that cannot be (corrupt: running past producer_pos, which also
/// covers fewer than a header's worth of bytes published). Under the preconditions a record that
/// ends by producer_pos is at most capacity bytes long, so its payload (at most capacity - 8
/// bytes) lies within the double mapping: that one comparison is the whole bounds check.
inline found_record find_submitted(const ring_view& ring, std::uint64_t pos, std::uint64_t limit,
                                   std::uint64_t producer_pos) noexcept {
    while (pos < limit) {
        const std::uint32_t hdr = ring.load_header(pos);
        if (hdr & busy_bit) return {pos, 0, false, walk_stop::busy};
        const std::uint32_t len = hdr & ~discard_bit;
        const std::uint64_t next = pos + record_span(len);
        // next < pos: a length that wraps the position past 2^64 (only a forged one can).
        if (next > producer_pos || next < pos) return {pos, 0, false, walk_stop::corrupt};
        if (!(hdr & discard_bit)) return {pos, len, true, walk_stop::caught_up};
        pos = next;
    }
    return {pos, 0, false, pos < producer_pos ? walk_stop::limit : walk_stop::caught_up};
}

/// Walks submitted records from `begin` towards `producer_pos` (read by the caller with acquire),
/// stopping at a BUSY record, after `max_records` submitted records or once `max_bytes` of ring
/// have been walked (0: no limit), or at a length that cannot be. Never reads outside the view:
/// every header offset is masked, and a payload is at most capacity - 8 bytes, which the double
/// mapping covers. ring_batch iterates with the same steps (find_submitted) in a single pass;
/// this whole walk is what resolving a batch's end without iterating it costs.
inline walk_result walk(const ring_view& ring, std::uint64_t begin, std::uint64_t producer_pos,
                        std::size_t max_records = 0, std::uint64_t max_bytes = 0) noexcept {
    walk_result r{begin, 0, walk_stop::caught_up};
    if (!positions_valid(ring, begin, producer_pos)) {
        r.stop = walk_stop::corrupt;
        return r;
    }
    const std::uint64_t limit =
        max_bytes != 0 && max_bytes < producer_pos - begin ? begin + max_bytes : producer_pos;
    const std::size_t max = max_records != 0 ? max_records : SIZE_MAX;
    for (;;) {
        if (r.records == max) {
            r.stop = r.end < producer_pos ? walk_stop::limit : walk_stop::caught_up;
            return r;
        }
        const auto f = find_submitted(ring, r.end, limit, producer_pos);
        if (!f.found) {
            r.end = f.pos;
            r.stop = f.stop;
            return r;
        }
        ++r.records;
        r.end = f.pos + record_span(f.len);
    }
}

// ---- perf event rings ---------------------------------------------------------------------

inline constexpr std::uint32_t perf_record_lost = 2;    // PERF_RECORD_LOST
inline constexpr std::uint32_t perf_record_sample = 9;  // PERF_RECORD_SAMPLE
inline constexpr std::uint32_t perf_header_size = 8;         // struct perf_event_header
inline constexpr std::uint32_t perf_header_size_offset = 6;  // its u16 size
inline constexpr std::uint32_t perf_sample_data_offset = 12; // the header, then u32 size, then data

enum class perf_kind {
    sample,   ///< PERF_SAMPLE_RAW data
    lost,     ///< the kernel dropped `lost` records: the ring was full
    other,    ///< a record type a BPF output event does not make: skipped
    corrupt,  ///< a size that cannot be: the ring cannot be read further
};

/// One record of a perf ring, decoded: what it is, where the next one starts, its data.
struct perf_decoded {
    perf_kind kind = perf_kind::corrupt;  ///< what the record is
    std::uint64_t next = 0;            ///< tail position after this record
    std::span<const std::byte> data;   ///< sample: raw bytes (with up to 7 bytes of padding)
    std::uint64_t lost = 0;            ///< lost: the count the kernel reported
};

/// Whether a sample's `raw` bytes of data lie inside its record of `size` bytes (header
/// included): one compare, in 64 bits so that nothing wraps.
inline constexpr bool perf_raw_fits(std::uint32_t raw, std::uint32_t size) noexcept {
    return std::uint64_t{raw} + perf_sample_data_offset <= size;
}

/// The raw data of a PERF_RECORD_SAMPLE lying whole at `rec` (`size` bytes, header included) into
/// `out`; false, leaving `out` alone, when the record is too short for the raw size field or that
/// size runs past the record.
inline bool perf_sample_raw(const std::byte* rec, std::uint32_t size, std::span<const std::byte>& out) noexcept {
    if (size < perf_sample_data_offset) return false;
    std::uint32_t raw;
    std::memcpy(&raw, rec + perf_header_size, sizeof raw);
    if (!perf_raw_fits(raw, size)) return false;
    out = {rec + perf_sample_data_offset, raw};
    return true;
}

/// Decodes the record at `tail` in a perf ring of `ring.size()` bytes (a power of two, mapped
/// once) holding data up to `head`. A record that wraps the end is copied into `scratch`, and
/// its data then points there. Sizes are checked against head and against the ring before any
/// byte past the 8-byte header is read.
inline perf_decoded perf_decode(std::span<const std::byte> ring, std::uint64_t tail, std::uint64_t head,
                                std::vector<std::byte>& scratch) {
    perf_decoded d;
    const std::uint64_t size = ring.size();
    if (size < 8 || (size & (size - 1)) != 0 || head - tail > size || head - tail < 8) return d;

    struct {
        std::uint32_t type;
        std::uint16_t misc;
        std::uint16_t size;
    } hdr;
    const std::uint64_t off = tail & (size - 1);
    std::span<const std::byte> rec;
    if (off + 8 <= size) [[likely]] {
        // The common case: the header, and usually the whole record, lies before the end.
        std::memcpy(&hdr, ring.data() + off, sizeof hdr);
        if (hdr.size < sizeof hdr || hdr.size > head - tail) return d;
        if (off + hdr.size <= size) [[likely]]
            rec = {ring.data() + off, hdr.size};
    } else {
        const std::size_t first = static_cast<std::size_t>(size - off);
        std::memcpy(&hdr, ring.data() + off, first);
        std::memcpy(reinterpret_cast<std::byte*>(&hdr) + first, ring.data(), sizeof hdr - first);
        if (hdr.size < sizeof hdr || hdr.size > head - tail) return d;
    }
    if (rec.empty()) {
        // The record wraps the end (the ring is mapped once): copy it whole into scratch.
        const std::size_t first = static_cast<std::size_t>(size - off);
        scratch.resize(hdr.size);
        std::memcpy(scratch.data(), ring.data() + off, first);
        std::memcpy(scratch.data() + first, ring.data(), hdr.size - first);
        rec = scratch;
    }
    d.next = tail + hdr.size;
    switch (hdr.type) {
    case perf_record_sample:
        if (perf_sample_raw(rec.data(), hdr.size, d.data)) d.kind = perf_kind::sample;
        return d;
    case perf_record_lost: {
        // struct { header; u64 id; u64 lost; }
        if (rec.size() < sizeof hdr + 16) return d;
        std::memcpy(&d.lost, rec.data() + sizeof hdr + 8, sizeof d.lost);
        d.kind = perf_kind::lost;
        return d;
    }
    default:
        d.kind = perf_kind::other;
        return d;
    }
}

}  // namespace bpfco::ring_records
