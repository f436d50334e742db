// The record walker on plain bytes: no kernel, no mmap.
#include <bpfco/streams/perf_buffer.hpp>
#include <bpfco/streams/ring_buffer.hpp>
#include <bpfco/streams/ring_records.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <utility>
#include <vector>

namespace {
// What a stream without a declared record type keeps: as<T>() checks sizes only.
const bpfco::detail::type_mismatch_counter sizes_only("test ring", nullptr);
}  // namespace

using namespace bpfco::ring_records;

namespace {

// A ring data area of `cap` bytes, kept mapped twice back to back as the kernel does.
struct fake_ring {
    explicit fake_ring(std::size_t cap) : cap(cap), mem(2 * cap / 8 + 1) {}
    std::size_t cap;
    std::vector<std::uint64_t> mem;  // uint64_t: 8-byte aligned, as a mapping is

    std::byte* base() { return reinterpret_cast<std::byte*>(mem.data()); }
    ring_view view() { return ring_view::over({base(), 2 * cap}); }

    // Writes bytes at ring position pos into both copies.
    void write(std::uint64_t pos, const void* src, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            auto b = static_cast<const std::byte*>(src)[i];
            std::size_t off = (pos + i) % cap;
            base()[off] = b;
            base()[off + cap] = b;
        }
    }
    // A record at pos with payload bytes `fill`; returns the position after it.
    std::uint64_t put(std::uint64_t pos, std::uint32_t len, std::uint32_t flags = 0, std::uint8_t fill = 0xab) {
        std::uint32_t hdr[2] = {len | flags, 0};
        write(pos, hdr, sizeof hdr);
        std::vector<std::uint8_t> payload(len, fill);
        write(pos + header_size, payload.data(), len);
        return pos + record_span(len);
    }
};

}  // namespace

// Makes batches as the streams do; ring_buffer.hpp and perf_buffer.hpp befriend it for these tests.
struct bpfco::detail::record_access {
    template <class... Args>
    static ring_batch make_ring_batch(Args&&... args) {
        return ring_batch(std::forward<Args>(args)...);
    }
    template <class... Args>
    static perf_batch make_perf_batch(Args&&... args) {
        return perf_batch(std::forward<Args>(args)...);
    }
};

TEST_SUITE("unit") {

TEST_CASE("records are 8-byte aligned with their header") {
    CHECK(record_span(0) == 8);
    CHECK(record_span(1) == 16);
    CHECK(record_span(8) == 16);
    CHECK(record_span(9) == 24);
    CHECK(record_span(64) == 72);
}

TEST_CASE("walk counts submitted records up to producer_pos") {
    fake_ring r(4096);
    std::uint64_t p = 0;
    p = r.put(p, 5);
    p = r.put(p, 64);
    p = r.put(p, 1);
    auto w = walk(r.view(), 0, p);
    CHECK(w.stop == walk_stop::caught_up);
    CHECK(w.records == 3);
    CHECK(w.end == p);
    CHECK(r.view().payload(16, 64).size() == 64);
}

TEST_CASE("a BUSY record stops the walk before it, and nothing after it is read") {
    fake_ring r(4096);
    std::uint64_t p = r.put(0, 16);
    std::uint64_t busy_at = p;
    p = r.put(p, 16, busy_bit);
    p = r.put(p, 16);
    auto w = walk(r.view(), 0, p);
    CHECK(w.stop == walk_stop::busy);
    CHECK(w.records == 1);
    CHECK(w.end == busy_at);
}

TEST_CASE("discarded records are skipped but their space is consumed") {
    // As the kernel selftest: 2 submitted + 1 discarded = 2 records, 3 record sizes.
    fake_ring r(4096);
    std::uint64_t p = r.put(0, 32);
    p = r.put(p, 32, discard_bit);
    p = r.put(p, 32);
    auto w = walk(r.view(), 0, p);
    CHECK(w.records == 2);
    CHECK(w.end == 3 * record_span(32));
}

TEST_CASE("max_records limits a batch") {
    fake_ring r(4096);
    std::uint64_t p = 0;
    for (int i = 0; i < 10; ++i) p = r.put(p, 8);
    auto w = walk(r.view(), 0, p, 4);
    CHECK(w.stop == walk_stop::limit);
    CHECK(w.records == 4);
    CHECK(w.end == 4 * record_span(8));
    auto rest = walk(r.view(), w.end, p, 100);
    CHECK(rest.records == 6);
    CHECK(rest.stop == walk_stop::caught_up);
}

TEST_CASE("a record that wraps the end is contiguous through the double mapping") {
    fake_ring r(256);
    // Positions keep growing past the capacity; the offset is masked.
    std::uint64_t start = 1000 * 256 + 200;
    std::uint64_t p = r.put(start, 100, 0, 0x5a);
    auto w = walk(r.view(), start, p);
    REQUIRE(w.records == 1);
    auto data = r.view().payload(start, 100);
    REQUIRE(data.size() == 100);
    for (auto b : data) CHECK(b == std::byte{0x5a});
    CHECK(data.data() + data.size() <= r.base() + 2 * r.cap);
}

TEST_CASE("garbage and truncated lengths are rejected, never read out of bounds") {
    fake_ring r(256);
    SUBCASE("length larger than the ring") {
        std::uint32_t hdr[2] = {1u << 20, 0};
        r.write(0, hdr, 8);
        CHECK(walk(r.view(), 0, 64).stop == walk_stop::corrupt);
    }
    SUBCASE("length past producer_pos") {
        std::uint64_t p = r.put(0, 64);
        CHECK(walk(r.view(), 0, p - 8).stop == walk_stop::corrupt);
    }
    SUBCASE("all bits set except BUSY") {
        std::uint32_t hdr[2] = {0x7fffffffu, 0};
        r.write(0, hdr, 8);
        CHECK(walk(r.view(), 0, 256).stop == walk_stop::corrupt);
    }
    SUBCASE("producer_pos more than a ring ahead") {
        CHECK(walk(r.view(), 0, 257).stop == walk_stop::corrupt);
    }
    SUBCASE("less than a header published") {
        CHECK(walk(r.view(), 0, 4).stop == walk_stop::corrupt);
    }
    SUBCASE("a view that is not two copies of a power of two") {
        std::vector<std::uint64_t> odd(300 / 8);
        auto v = ring_view::over({reinterpret_cast<const std::byte*>(odd.data()), 296});
        CHECK(v.capacity == 0);
        CHECK(walk(v, 0, 8).stop == walk_stop::corrupt);
    }
}

TEST_CASE("walk from a consumer position that is not zero") {
    fake_ring r(4096);
    std::uint64_t start = 4096 * 3 + 64;
    std::uint64_t p = r.put(start, 10);
    p = r.put(p, 20);
    auto w = walk(r.view(), start, p);
    CHECK(w.records == 2);
    CHECK(w.end == p);
    CHECK(walk(r.view(), p, p).records == 0);
}

TEST_CASE("find_submitted skips discarded records and stops at BUSY, the limit or a bad length") {
    fake_ring r(4096);
    std::uint64_t p = r.put(0, 16, discard_bit);
    const std::uint64_t sub = p;
    p = r.put(p, 24);
    const std::uint64_t busy = p;
    p = r.put(p, 8, busy_bit);
    auto f = find_submitted(r.view(), 0, p, p);
    CHECK(f.found);
    CHECK(f.pos == sub);
    CHECK(f.len == 24);
    auto g = find_submitted(r.view(), sub + record_span(24), p, p);
    CHECK_FALSE(g.found);
    CHECK(g.stop == walk_stop::busy);
    CHECK(g.pos == busy);
    auto h = find_submitted(r.view(), 0, sub, p);  // a limit after the discarded record
    CHECK_FALSE(h.found);
    CHECK(h.stop == walk_stop::limit);
    CHECK(h.pos == sub);
    auto c = find_submitted(r.view(), sub, p, sub + 8);  // the record runs past producer_pos
    CHECK(c.stop == walk_stop::corrupt);
    CHECK(c.pos == sub);
}

namespace {
std::vector<std::uint8_t> firsts(const bpfco::ring_batch& b) {
    std::vector<std::uint8_t> v;
    for (const auto& rec : b) v.push_back(static_cast<std::uint8_t>(rec.data()[0]));
    return v;
}
// A batch as ring_state::take() makes it, without a stream (nothing is committed).
bpfco::ring_batch lazy_batch(fake_ring& r, std::uint64_t begin, std::uint64_t prod, std::size_t max_records = 0,
                             std::uint64_t limit = 0) {
    auto f = find_submitted(r.view(), begin, limit ? limit : prod, prod);
    REQUIRE(f.found);
    return bpfco::detail::record_access::make_ring_batch(nullptr, r.view(), begin, f.pos, f.len, limit ? limit : prod,
                                                          prod, max_records, &sizes_only);
}
}  // namespace

TEST_CASE("forged positions near 2^64 are corrupt, never a walk that goes round (found by fuzzing)") {
    fake_ring r(4096);
    const std::uint64_t top = ~std::uint64_t{0} - 4095;  // 8-byte aligned, 4 KiB below 2^64
    // The producer "ahead" by wrapping past 2^64: the difference is small, the order is not.
    CHECK(walk(r.view(), top + 4080, top + 4080 + 32).stop == walk_stop::corrupt);
    // A discarded record whose length carries the next position past 2^64, back to the start.
    std::uint32_t hdr[2] = {((1u << 30) - 8) | discard_bit, 0};
    r.write(top, hdr, sizeof hdr);
    const auto w = walk(r.view(), top, top + 4088);
    CHECK(w.stop == walk_stop::corrupt);
    CHECK(w.end == top);
    CHECK_FALSE(find_submitted(r.view(), top, top + 4088, top + 4088).found);
}

TEST_CASE("ring_batch walks once: discarded skipped, ends at BUSY, the end fixed at first sight") {
    fake_ring r(4096);
    std::uint64_t p = r.put(0, 8, discard_bit, 1);
    p = r.put(p, 8, 0, 2);
    p = r.put(p, 8, discard_bit, 3);
    p = r.put(p, 12, 0, 4);
    const std::uint64_t busy = p;
    p = r.put(p, 8, busy_bit, 5);
    p = r.put(p, 8, 0, 6);
    auto b = lazy_batch(r, 0, p);
    CHECK_FALSE(b.empty());
    CHECK(firsts(b) == std::vector<std::uint8_t>{2, 4});
    CHECK(b.size() == 2);
    CHECK(b.bytes() == busy);
    // Submitted after the batch's end was fixed: it belongs to the next batch, not this one.
    std::uint32_t hdr = 8;
    r.write(busy, &hdr, 4);
    CHECK(firsts(b) == std::vector<std::uint8_t>{2, 4});
    CHECK(b.size() == 2);
    auto next = lazy_batch(r, busy, p);
    CHECK(firsts(next) == std::vector<std::uint8_t>{5, 6});
}

TEST_CASE("ring_batch: size() before iterating, max_records and a byte limit agree with walk()") {
    fake_ring r(4096);
    std::uint64_t p = 0;
    for (std::uint8_t i = 0; i < 10; ++i) p = r.put(p, 8 + i, i % 3 == 1 ? discard_bit : 0, i);
    auto all = walk(r.view(), 0, p);
    auto b = lazy_batch(r, 0, p);
    CHECK(b.size() == all.records);  // resolved first
    CHECK(b.bytes() == all.end);
    CHECK(firsts(b) == std::vector<std::uint8_t>{0, 2, 3, 5, 6, 8, 9});

    auto capped = lazy_batch(r, 0, p, 4);
    CHECK(firsts(capped) == std::vector<std::uint8_t>{0, 2, 3, 5});  // iterated first
    CHECK(capped.size() == 4);
    CHECK(capped.bytes() == walk(r.view(), 0, p, 4).end);

    const std::uint64_t max_bytes = 40;
    auto bytes = lazy_batch(r, 0, p, 0, max_bytes);
    const auto w = walk(r.view(), 0, p, 0, max_bytes);
    CHECK(bytes.size() == w.records);
    CHECK(bytes.bytes() == w.end);
    CHECK(w.stop == walk_stop::limit);

    // Iterators: forward, multi-pass, equal at the end.
    auto it = b.begin();
    auto copy = it++;
    CHECK(copy == b.begin());
    CHECK(it != copy);
    CHECK(std::distance(b.begin(), b.end()) == 7);
}

TEST_CASE("ring_batch: a bad length ends the batch before it") {
    fake_ring r(4096);
    std::uint64_t p = r.put(0, 8, 0, 1);
    const std::uint64_t bad = p;
    std::uint32_t hdr[2] = {5000, 0};
    r.write(bad, hdr, 8);
    auto b = lazy_batch(r, 0, bad + 64);
    CHECK(firsts(b) == std::vector<std::uint8_t>{1});
    CHECK(b.bytes() == bad);
    CHECK(find_submitted(r.view(), bad, bad + 64, bad + 64).stop == walk_stop::corrupt);
}

TEST_CASE("ring_batch: moves keep the lazy state; an empty batch iterates nothing") {
    fake_ring r(4096);
    std::uint64_t p = r.put(0, 8, 0, 7);
    p = r.put(p, 8, 0, 8);
    auto a = lazy_batch(r, 0, p);
    bpfco::ring_batch b(std::move(a));
    CHECK(firsts(b) == std::vector<std::uint8_t>{7, 8});
    bpfco::ring_batch e;
    CHECK(e.empty());
    CHECK(e.size() == 0);
    CHECK(e.begin() == e.end());
}

// ---- perf ----

namespace {
struct perf_ring {
    explicit perf_ring(std::size_t size) : bytes(size) {}
    std::vector<std::byte> bytes;
    void write(std::uint64_t pos, const void* src, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) bytes[(pos + i) % bytes.size()] = static_cast<const std::byte*>(src)[i];
    }
    // PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW: header, u32 size, data padded to 8 bytes.
    std::uint64_t sample(std::uint64_t pos, std::uint32_t len, std::uint8_t fill) {
        const std::uint32_t raw = ((len + 4 + 7) & ~7u) - 4;
        const std::uint16_t size = static_cast<std::uint16_t>(8 + 4 + raw);
        struct { std::uint32_t type; std::uint16_t misc, size; } h{perf_record_sample, 0, size};
        write(pos, &h, 8);
        write(pos + 8, &raw, 4);
        std::vector<std::uint8_t> d(raw, 0);
        std::fill(d.begin(), d.begin() + len, fill);
        write(pos + 12, d.data(), raw);
        return pos + size;
    }
    std::uint64_t lost(std::uint64_t pos, std::uint64_t count) {
        struct { std::uint32_t type; std::uint16_t misc, size; std::uint64_t id, lost; } l{perf_record_lost, 0, 24, 7, count};
        write(pos, &l, sizeof l);
        return pos + sizeof l;
    }
};
}  // namespace

TEST_CASE("perf samples and lost records decode with their sizes and counts") {
    perf_ring r(4096);
    std::vector<std::byte> scratch;
    std::uint64_t p = r.sample(0, 64, 0x11);
    p = r.lost(p, 12345);
    p = r.sample(p, 5, 0x22);

    auto a = perf_decode(r.bytes, 0, p, scratch);
    REQUIRE(a.kind == perf_kind::sample);
    CHECK(a.data.size() == 68);  // 64 bytes + 4 of padding to the 8-byte boundary
    CHECK(a.data[0] == std::byte{0x11});
    auto b = perf_decode(r.bytes, a.next, p, scratch);
    REQUIRE(b.kind == perf_kind::lost);
    CHECK(b.lost == 12345);
    auto c = perf_decode(r.bytes, b.next, p, scratch);
    REQUIRE(c.kind == perf_kind::sample);
    CHECK(c.data.size() == 12);
    CHECK(c.next == p);
}

TEST_CASE("a perf record that wraps the ring end is delivered whole from scratch") {
    perf_ring r(256);
    std::vector<std::byte> scratch;
    std::uint64_t start = 256 * 5 + 200;  // 56 bytes before the end
    std::uint64_t p = r.sample(start, 64, 0x77);
    auto d = perf_decode(r.bytes, start, p, scratch);
    REQUIRE(d.kind == perf_kind::sample);
    CHECK(d.data.size() == 68);
    CHECK(d.data.data() >= scratch.data());
    CHECK(d.data.data() < scratch.data() + scratch.size());
    for (std::size_t i = 0; i < 64; ++i) CHECK(d.data[i] == std::byte{0x77});
}

TEST_CASE("perf: a header split by the ring end decodes") {
    perf_ring r(256);
    std::vector<std::byte> scratch;
    std::uint64_t start = 252;  // the 8-byte header itself wraps
    std::uint64_t p = r.lost(start, 3);
    auto d = perf_decode(r.bytes, start, p, scratch);
    REQUIRE(d.kind == perf_kind::lost);
    CHECK(d.lost == 3);
}

TEST_CASE("perf: garbage sizes are rejected") {
    perf_ring r(256);
    std::vector<std::byte> scratch;
    struct { std::uint32_t type; std::uint16_t misc, size; } h{perf_record_sample, 0, 4};
    r.write(0, &h, 8);
    CHECK(perf_decode(r.bytes, 0, 64, scratch).kind == perf_kind::corrupt);  // smaller than a header
    h.size = 200;
    r.write(0, &h, 8);
    CHECK(perf_decode(r.bytes, 0, 64, scratch).kind == perf_kind::corrupt);  // past head
    h.size = 16;
    std::uint32_t raw = 1000;
    r.write(0, &h, 8);
    r.write(8, &raw, 4);
    CHECK(perf_decode(r.bytes, 0, 64, scratch).kind == perf_kind::corrupt);  // raw size past the record
    CHECK(perf_decode(r.bytes, 0, 4, scratch).kind == perf_kind::corrupt);   // less than a header
    CHECK(perf_decode(r.bytes, 0, 1000, scratch).kind == perf_kind::corrupt);  // head a ring ahead
    h.type = 99;
    h.size = 16;
    r.write(0, &h, 8);
    auto other = perf_decode(r.bytes, 0, 64, scratch);
    CHECK(other.kind == perf_kind::other);
    CHECK(other.next == 16);
}

namespace {
bpfco::detail::perf_range perf_part(perf_ring& r, std::vector<std::byte>& scratch, std::uint32_t cpu,
                                    std::uint64_t first, std::uint64_t head, std::size_t cap = SIZE_MAX) {
    bpfco::detail::perf_range range;
    range.cpu = cpu;
    range.data = r.bytes;
    range.scratch = &scratch;
    range.first = first;
    range.head = head;
    range.cap = cap;
    return range;
}
}  // namespace

TEST_CASE("perf_batch decodes in place, ring by ring, with a per-ring cap; wrapped records whole") {
    perf_ring a(256), b(256);
    std::vector<std::byte> sa, sb;
    std::uint64_t pa = 256 * 3 + 200;  // the second sample wraps the end
    const std::uint64_t a0 = pa;
    pa = a.sample(pa, 20, 0x01);
    pa = a.sample(pa, 64, 0x02);
    pa = a.lost(pa, 9);
    pa = a.sample(pa, 8, 0x03);
    std::uint64_t pb = 0;
    pb = b.sample(pb, 8, 0x10);
    pb = b.sample(pb, 8, 0x11);
    std::vector<bpfco::detail::perf_range> ranges{perf_part(a, sa, 0, a0, pa, 3), perf_part(b, sb, 1, 0, pb)};
    auto batch = bpfco::detail::record_access::make_perf_batch(nullptr, std::move(ranges), false, &sizes_only);
    std::vector<int> got;
    for (const auto& rec : batch) {
        if (rec.is_lost()) {
            CHECK(rec.cpu() == 0);
            got.push_back(-static_cast<int>(rec.lost_count()));
            continue;
        }
        got.push_back(static_cast<int>(rec.data()[0]) + 1000 * static_cast<int>(rec.cpu()));
        if (rec.data()[0] == std::byte{0x02}) {
            CHECK(rec.data().size() == 68);
            CHECK(rec.data().data() >= sa.data());  // delivered whole from the scratch buffer
            for (std::size_t i = 0; i < 64; ++i) CHECK(rec.data()[i] == std::byte{0x02});
        }
    }
    // Ring a's cap of 3 leaves its last sample to the next batch.
    CHECK(got == std::vector<int>{0x01, 0x02, -9, 1000 + 0x10, 1000 + 0x11});
    CHECK(batch.size() == 5);
    CHECK(std::distance(batch.begin(), batch.end()) == 5);
}

TEST_CASE("perf_batch: size() before iterating; a bad size ends that ring's part") {
    perf_ring a(256);
    std::vector<std::byte> sa;
    std::uint64_t p = a.sample(0, 8, 0x05);
    struct { std::uint32_t type; std::uint16_t misc, size; } h{perf_record_sample, 0, 4};
    a.write(p, &h, 8);
    std::vector<bpfco::detail::perf_range> ranges{perf_part(a, sa, 2, 0, p + 64)};
    auto batch = bpfco::detail::record_access::make_perf_batch(nullptr, std::move(ranges), false, &sizes_only);
    CHECK(batch.size() == 1);
    std::size_t n = 0;
    for (const auto& rec : batch) n += rec.data()[0] == std::byte{0x05};
    CHECK(n == 1);
    bpfco::perf_batch empty;
    CHECK(empty.empty());
    CHECK(empty.begin() == empty.end());
}

}  // TEST_SUITE
