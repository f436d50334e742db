// The record walker on plain bytes: no kernel, no mmap.
#include <bpfco/ring_records.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

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

}  // TEST_SUITE
