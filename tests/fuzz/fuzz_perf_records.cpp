// Perf-ring records of arbitrary size and content through the decoder (perf_decode), the way
// perf_buffer reads a CPU's ring: from the tail towards the head, record after record, copying a
// record that wraps the end into a scratch buffer; samples then through perf_record::as<T>.
// The input is a header choosing the ring's size, tail and head, then the ring's bytes. Nothing
// may be read outside the ring or the scratch buffer (ASan checks), and every step must advance.
#include <bpfco/streams/perf_buffer.hpp>
#include <bpfco/streams/ring_records.hpp>
#include <bpfco/stream_events.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

// Makes records as the stream does; perf_buffer.hpp befriends it for the record-walk tests.
struct bpfco::detail::record_access {
    static perf_record make_perf_record(std::uint32_t cpu, std::span<const std::byte> data) {
        static const type_mismatch_counter sizes_only("fuzz perf", nullptr);  // sizes only
        return perf_record(cpu, data, &sizes_only);
    }
};

namespace {
template <class T>
T take(const std::uint8_t*& p, std::size_t& n) {
    T v{};
    const std::size_t k = n < sizeof v ? n : sizeof v;
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace bpfco::ring_records;
    const auto shift = take<std::uint8_t>(data, size);
    const auto tail0 = take<std::uint64_t>(data, size);
    const auto published = take<std::uint32_t>(data, size);

    // 4 bytes (not a ring: must be refused) to 64 KiB; a few sizes that are not powers of two.
    std::size_t ring_size = std::size_t{4} << (shift % 15);
    if (shift & 0x80) ring_size += 8;
    std::vector<std::byte> ring(ring_size);
    for (std::size_t i = 0; i < ring_size; ++i)
        ring[(tail0 + i) % ring_size] = i < size ? std::byte{data[i]} : std::byte{0};

    const std::uint64_t head = tail0 + (published & 0x80000000u ? published : published % (ring_size + 16));
    std::vector<std::byte> scratch;
    std::uint64_t tail = tail0;
    unsigned sum = 0;
    std::uint64_t lost = 0;
    for (int steps = 0; tail != head && steps < 100000; ++steps) {
        auto d = perf_decode(ring, tail, head, scratch);
        if (d.kind == perf_kind::corrupt) break;
        // Progress, and never past head (positions are modulo 2^64, as in the kernel).
        if (d.next - tail == 0 || d.next - tail > head - tail) __builtin_trap();
        tail = d.next;
        if (d.kind == perf_kind::lost) lost += d.lost;
        if (d.kind != perf_kind::sample) continue;
        const bool in_ring = d.data.data() >= ring.data() && d.data.data() + d.data.size() <= ring.data() + ring.size();
        const bool in_scratch =
            d.data.data() >= scratch.data() && d.data.data() + d.data.size() <= scratch.data() + scratch.size();
        if (!in_ring && !in_scratch) __builtin_trap();
        for (auto b : d.data) sum += static_cast<unsigned>(b);
        const auto rec = bpfco::detail::record_access::make_perf_record(0, d.data);
        if (auto e = rec.as<bpfco_seq_event>()) sum += static_cast<unsigned>(e->seq);
        if (auto v = rec.as<std::uint32_t>()) sum += *v;
        if (auto v = rec.as<std::uint8_t>()) sum += *v;
    }
    volatile unsigned sink = sum + static_cast<unsigned>(lost);
    (void)sink;
    return 0;
}
