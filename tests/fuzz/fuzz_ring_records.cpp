// BPF ring-buffer records of arbitrary length and content through the record walker, the batch
// iterator and the typed views (ring_record::as<T>). The input is a small header choosing the
// ring's size, the consumer position and how far the producer got, then the bytes of the ring's
// data area, which is laid out twice back to back as the kernel maps it. Nothing may be read
// outside the doubled area (ASan checks), and what the walk counts must be what the batch yields.
#include <bpfco/streams/ring_buffer.hpp>
#include <bpfco/stream_events.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

// Makes batches as the stream does; ring_buffer.hpp befriends it for the record-walk tests.
struct bpfco::detail::record_access {
    template <class... Args>
    static ring_batch make_ring_batch(Args&&... args) {
        return ring_batch(std::forward<Args>(args)...);
    }
};

namespace {
// A stream without a declared record type: as<T>() checks sizes only.
const bpfco::detail::type_mismatch_counter sizes_only("fuzz ring", nullptr);

template <class T>
T take(const std::uint8_t*& p, std::size_t& n) {
    T v{};
    const std::size_t k = n < sizeof v ? n : sizeof v;
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
}

struct odd {
    std::uint8_t b[3];
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace bpfco::ring_records;
    const auto shift = take<std::uint8_t>(data, size);
    const auto begin = take<std::uint64_t>(data, size);
    const auto published = take<std::uint32_t>(data, size);
    const auto max_records = take<std::uint8_t>(data, size);

    // 8 bytes to 64 KiB, a power of two. Exactly 2 x capacity bytes are allocated, so ASan sees
    // any read past the second copy.
    const std::size_t cap = std::size_t{8} << (shift % 14);
    std::vector<std::uint64_t> mem(2 * cap / 8);
    auto* base = reinterpret_cast<std::byte*>(mem.data());
    for (std::size_t i = 0; i < cap; ++i) {
        const std::byte b = i < size ? std::byte{data[i]} : std::byte{0};
        base[(begin + i) & (cap - 1)] = b;  // the ring's bytes start at the consumer position
        base[((begin + i) & (cap - 1)) + cap] = b;
    }
    const auto ring = ring_view::over({base, 2 * cap});
    if (ring.capacity != cap) __builtin_trap();

    // Mostly positions within one ring's worth, sometimes any distance at all.
    const std::uint64_t producer = begin + (published & 0x80000000u ? published : published % (cap + 16));
    const auto w = walk(ring, begin, producer, max_records % 4);
    if (w.stop == walk_stop::corrupt && w.end == begin && w.records != 0) __builtin_trap();
    if (w.end - begin > cap) __builtin_trap();

    if (w.records == 0) return 0;
    // The batch as ring_state::take() makes it (no state: releasing it commits nothing). It walks
    // lazily, with the same limits, so it must yield exactly the records the walk counted.
    const auto first = find_submitted(ring, begin, producer, producer);
    if (!first.found) __builtin_trap();
    auto batch = bpfco::detail::record_access::make_ring_batch(nullptr, ring, begin, first.pos, first.len, producer,
                                                              producer, max_records % 4, &sizes_only);
    std::size_t seen = 0;
    unsigned sum = 0;
    for (const auto& rec : batch) {
        auto bytes = rec.data();
        if (bytes.data() < base || bytes.data() + bytes.size() > base + 2 * cap) __builtin_trap();
        for (auto b : bytes) sum += static_cast<unsigned>(b);  // every byte readable
        if (auto* e = rec.as<bpfco_seq_event>()) sum += static_cast<unsigned>(e->seq);
        if (auto* v = rec.as<std::uint64_t>()) sum += static_cast<unsigned>(*v);
        if (auto* v = rec.as<std::uint8_t>()) sum += *v;
        if (auto* v = rec.as<odd>()) sum += v->b[2];
        if (++seen > w.records) __builtin_trap();
    }
    if (seen != w.records || batch.size() != w.records) __builtin_trap();
    volatile unsigned sink = sum;
    (void)sink;
    return 0;
}
