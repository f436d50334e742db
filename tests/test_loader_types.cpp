// Generated types (bpfco-gen-types) and the record contract: the header generated from
// bpf/gentypes_test.bpf.c is the C++ side; hand-written twins that drifted without changing size
// are refused at set-up, naming the member; globals are checked by kind, not only by size.
#include "support.hpp"

#include "gentypes_test.bpf.types.hpp"
#include "gentypes_test.bpf.skel.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <type_traits>

using namespace bpfco;
namespace asio = boost::asio;
namespace gt = gentypes_test;

namespace {
object open_gentypes() { return object::open_skeleton("gentypes_test", gentypes_test_bpf__elf_bytes).value(); }

// Loaded for this process's getppid() calls, each of which writes one record to every stream map.
struct attached {
    object obj;
    bpfco::link link;
};
attached attached_gentypes() {
    auto obj = open_gentypes();
    obj.global(gt::globals::targ_pid).value().set(static_cast<std::uint32_t>(::getpid())).value();
    obj.load().value();
    auto link = obj.program("gentypes_getppid").value().attach().value();
    return {std::move(obj), std::move(link)};
}

// Twins of struct gt_event { u64 ts; s32 ret; float ratio; u32 pid; u16 dport; } (24 bytes)
// that drifted and kept the size.
struct widened {  // dport u16 -> u32, absorbed by the tail padding
    std::uint64_t ts;
    std::int32_t ret;
    float ratio;
    std::uint32_t pid;
    std::uint32_t dport;
};
struct swapped {  // ret and ratio, both 4 bytes, in each other's place
    std::uint64_t ts;
    float ratio;
    std::int32_t ret;
    std::uint32_t pid;
    std::uint16_t dport;
};
struct unsigned_ret {  // ret made unsigned
    std::uint64_t ts;
    std::uint32_t ret;
    float ratio;
    std::uint32_t pid;
    std::uint16_t dport;
};
static_assert(sizeof(widened) == sizeof(gt::gt_event) && sizeof(swapped) == sizeof(gt::gt_event) &&
              sizeof(unsigned_ret) == sizeof(gt::gt_event));

// Every way of making a typed stream over `map` from the object: an executor, an io_context.
template <class T>
std::vector<std::string> stream_errors(const object& obj, asio::io_context& io) {
    std::vector<std::string> out;
    auto note = [&](const auto& r) { out.push_back(r ? std::string("accepted") : r.error().message); };
    note(obj.ring_buffer<T>(io.get_executor(), "events"));
    note(obj.ring_buffer<T>(io, "events"));
    note(obj.perf_buffer<T>(io.get_executor(), "perf_events"));
    note(obj.perf_buffer<T>(io, "perf_events"));
    return out;
}
}  // namespace

TEST_CASE("the generated header: records with BTF's layout, globals and record maps typed") {
    static_assert(std::is_same_v<decltype(gt::globals::targ_pid), const global_var<std::uint32_t>>);
    static_assert(std::is_same_v<decltype(gt::globals::verbose), const global_var<bool>>);
    static_assert(std::is_same_v<decltype(gt::globals::label), const global_var<std::array<char, 8>>>);
    static_assert(std::is_same_v<decltype(gt::globals::balance), const global_var<std::int64_t>>);
    static_assert(std::is_same_v<decltype(gt::maps::events), const record_map<gt::gt_event>>);
    static_assert(std::is_same_v<decltype(gt::gt_event::ratio), float>);
    static_assert(std::is_same_v<decltype(gt::gt_event::ret), std::int32_t>);
    static_assert(sizeof(gt::gt_event) == 24);
    // The generator's other spellings (their offsets are static_asserted in the header itself).
    static_assert(std::is_same_v<std::underlying_type_t<gt::gt_color>, std::uint32_t> && gt::GT_BLUE == 0x80000000u);
    static_assert(sizeof(gt::gt_inner) == 3 && offsetof(gt::gt_mixed, inner) == 4);
    static_assert(std::is_same_v<decltype(gt::gt_mixed::grid), std::int8_t[2][3]>);
    static_assert(std::is_same_v<decltype(gt::gt_mixed::where), std::uint64_t>);
    CHECK(gt::maps::perf_events.name == "perf_events");
    CHECK(gt::GT_BLUE == 0x80000000u);
}

TEST_CASE("typed globals and a typed stream from the generated header work end to end") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_gentypes();
    obj.global(gt::globals::targ_pid).value().set(static_cast<std::uint32_t>(::getpid())).value();
    obj.global(gt::globals::verbose).value().set(true).value();
    obj.global(gt::globals::label).value().set({'g', 't'}).value();
    obj.load().value();
    asio::io_context io;
    auto events = obj.ring_buffer(io, gt::maps::events).value();
    auto link = obj.program("gentypes_getppid").value().attach().value();
    for (int i = 0; i < 3; ++i) ::syscall(SYS_getppid);
    auto f = asio::co_spawn(io, [&]() -> asio::awaitable<std::vector<gt::gt_event>> {
        std::vector<gt::gt_event> got;
        while (got.size() < 3) {
            auto batch = co_await events.async_receive(asio::use_awaitable);
            for (const auto& rec : batch)
                if (auto* e = rec.as<gt::gt_event>()) got.push_back(*e);
        }
        co_return got;
    }, asio::use_future);
    io.run();
    auto got = f.get();
    REQUIRE(got.size() == 3);
    CHECK(got[0].pid == static_cast<std::uint32_t>(::getpid()));
    CHECK(got[0].ret == -1);
    CHECK(got[0].dport == 443);
    CHECK(obj.global(gt::globals::packets).value().load() == 3);
    static_assert(std::is_same_v<decltype(gt::globals::last), const global_var<gt::gt_event>>);
    CHECK(obj.global(gt::globals::last).value().get().dport == 443);
    // A bit-field and an anonymous union: checked by size and kind, not member by member.
    static_assert(!mirror_struct<gt::gt_mixed>);
    CHECK(obj.global(gt::globals::mixed));
}

TEST_CASE("a twin that drifted without changing size is refused at set-up by every typed stream, naming the member") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_gentypes();
    obj.load().value();
    asio::io_context io;
    for (const auto& e : stream_errors<widened>(obj, io)) {
        CHECK(e.find("records of map '") != std::string::npos);
        CHECK(e.find("(declared by BPFCO_MAP_RECORD): struct 'gt_event' and C++ 'widened' do not match: member 4 "
                     "'dport' differs (BPF: at 20, 2 bytes, unsigned integer; C++: at 20, 4 bytes, unsigned integer)") !=
              std::string::npos);
    }
    for (const auto& e : stream_errors<swapped>(obj, io))
        CHECK(e.find("member 1 'ret' differs (BPF: at 8, 4 bytes, signed integer; C++: at 8, 4 bytes, "
                     "floating-point)") != std::string::npos);
    for (const auto& e : stream_errors<unsigned_ret>(obj, io))
        CHECK(e.find("member 1 'ret' differs (BPF: at 8, 4 bytes, signed integer; C++: at 8, 4 bytes, unsigned "
                     "integer)") != std::string::npos);
    // The declared record type is what counts, whatever the C++ twin is called.
    for (const auto& e : stream_errors<gt::gt_event>(obj, io)) CHECK(e == "accepted");
}

namespace {
// A stream made by its own constructor from the object's map, read with as<T>(): the records
// of the two getppid calls made since it opened, the count, and what the next receive says
// ("accepted" when it works).
struct read_outcome {
    std::size_t records = 0, read = 0;
    std::uint64_t mismatches = 0;
    std::string next;
    std::uint16_t dport = 0;
};

template <class T, class Stream>
read_outcome read_as(Stream& stream) {
    read_outcome out;
    {
        auto batch = stream.try_receive().value();
        for (const auto& rec : batch) {
            if constexpr (std::is_same_v<Stream, bpfco::perf_buffer>) {
                if (rec.is_lost()) continue;
            }
            ++out.records;
            if (auto e = rec.template as<T>()) {
                ++out.read;
                if constexpr (std::is_same_v<T, gt::gt_event>) out.dport = e->dport;
            }
        }
    }
    out.mismatches = stream.type_mismatches();
    auto next = stream.try_receive();
    out.next = next ? std::string("accepted") : next.error().message;
    return out;
}

template <class T>
std::vector<read_outcome> read_by_constructors(const object& obj, asio::io_context& io) {
    bpfco::ring_buffer ring(io.get_executor(), obj.map("events").value());
    bpfco::perf_buffer perf(io.get_executor(), obj.map("perf_events").value());
    for (int i = 0; i < 2; ++i) ::syscall(SYS_getppid);
    return {read_as<T>(ring), read_as<T>(perf)};
}
}  // namespace

TEST_CASE("as<T>() on a stream made by its constructor refuses a twin that drifted without changing size") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto [obj, link] = attached_gentypes();
    asio::io_context io;
    auto refused = [](const read_outcome& r, std::string_view stream, std::string_view type, std::string_view diff) {
        CHECK(r.records == 2);
        CHECK(r.read == 0);
        CHECK(r.mismatches == 2);
        INFO(r.next);
        CHECK(r.next.starts_with(std::string(stream) + ": records read as '" + std::string(type) + "' are refused"));
        CHECK(r.next.find("(declared by BPFCO_MAP_RECORD): struct 'gt_event' and C++ '" + std::string(type) +
                          "' do not match: " + std::string(diff)) != std::string::npos);
    };
    for (auto [stream, r] : {std::pair{"ring buffer 'events'", 0}, {"perf buffer 'perf_events'", 1}}) {
        CAPTURE(stream);
        refused(read_by_constructors<widened>(obj, io)[r], stream, "widened",
                "member 4 'dport' differs (BPF: at 20, 2 bytes, unsigned integer; C++: at 20, 4 bytes, unsigned "
                "integer)");
        refused(read_by_constructors<swapped>(obj, io)[r], stream, "swapped",
                "member 1 'ret' differs (BPF: at 8, 4 bytes, signed integer; C++: at 8, 4 bytes, floating-point)");
        refused(read_by_constructors<unsigned_ret>(obj, io)[r], stream, "unsigned_ret",
                "member 1 'ret' differs (BPF: at 8, 4 bytes, signed integer; C++: at 8, 4 bytes, unsigned integer)");
        // The declared type reads fine; a type the check cannot look into keeps the size check.
        const auto good = read_by_constructors<gt::gt_event>(obj, io)[r];
        CHECK(good.records == 2);
        CHECK(good.read == 2);
        CHECK(good.dport == 443);
        CHECK(good.mismatches == 0);
        CHECK(good.next == "accepted");
        const auto bytes = read_by_constructors<std::array<std::byte, sizeof(gt::gt_event)>>(obj, io)[r];
        CHECK(bytes.read == 2);
        CHECK(bytes.next == "accepted");
    }
}

namespace drift {
struct gt_event {  // named like the BPF struct, dport widened into the tail padding
    std::uint64_t ts;
    std::int32_t ret;
    float ratio;
    std::uint32_t pid;
    std::uint32_t dport;
};
}  // namespace drift

TEST_CASE("without BPFCO_MAP_RECORD, as<T>() checks a T named like a BPFCO_RECORD_TYPE struct, others by size") {
    BPFCO_REQUIRE_ROOT();
    auto [obj, link] = attached_gentypes();
    asio::io_context io;
    auto read = [&]<class T>(std::type_identity<T>) {
        bpfco::ring_buffer ring(io.get_executor(), obj.map("plain_events").value());
        for (int i = 0; i < 2; ++i) ::syscall(SYS_getppid);
        return read_as<T>(ring);
    };
    const auto drifted = read(std::type_identity<drift::gt_event>{});
    CHECK(drifted.read == 0);
    CHECK(drifted.mismatches == 2);
    CHECK(drifted.next.find("records of map 'plain_events' (declared by BPFCO_RECORD_TYPE): struct 'gt_event' and "
                            "C++ 'gt_event' do not match: member 4 'dport' differs") != std::string::npos);
    const auto good = read(std::type_identity<gt::gt_event>{});
    CHECK(good.read == 2);
    CHECK(good.dport == 443);
    CHECK(good.next == "accepted");
    // No struct of that name is declared: the size alone is checked.
    const auto other = read(std::type_identity<widened>{});
    CHECK(other.read == 2);
    CHECK(other.next == "accepted");
}

TEST_CASE("an async_receive after a refused as<T>() fails") {
    BPFCO_REQUIRE_ROOT();
    auto [obj, link] = attached_gentypes();
    asio::io_context io;
    bpfco::ring_buffer ring(io, obj.map("events").value());
    ::syscall(SYS_getppid);
    boost::system::error_code first, second;
    ring.async_receive([&](boost::system::error_code ec, ring_batch b) {
        first = ec;
        for (const auto& rec : b) CHECK(rec.as<widened>() == nullptr);
        // No new record: the refusal alone completes this one.
        ring.async_receive([&](boost::system::error_code ec2, ring_batch) { second = ec2; });
    });
    io.run();
    CHECK(!first);
    CHECK(second == boost::system::errc::bad_message);
    CHECK(ring.type_mismatches() == 1);
    // The async path's code only; the stream keeps the message.
    const std::string why = ring.record_type_refusal();
    CHECK(why.find("ring buffer 'events'") != std::string::npos);
    CHECK(why.find("'dport'") != std::string::npos);
}

TEST_CASE("global<T>(name) checks kind and signedness, not only size, and every message names the object") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_gentypes();
    auto as_double = obj.global<double>("packets");
    REQUIRE(!as_double);
    CHECK(as_double.error().message ==
          "object 'gentypes_test': global 'packets' (.bss): type mismatch: the variable is __u64 (unsigned integer, 8 "
          "bytes), the C++ type is double (floating-point, 8 bytes)");
    auto as_signed = obj.global<std::int64_t>("packets");
    REQUIRE(!as_signed);
    CHECK(as_signed.error().message.find("the variable is __u64 (unsigned integer") != std::string::npos);
    CHECK(!obj.global<std::uint64_t>("balance"));                      // __s64
    CHECK(!obj.global<std::uint8_t>("verbose"));                       // bool
    CHECK(obj.global<bool>("verbose"));
    CHECK(obj.global<std::array<char, 8>>("label"));
    CHECK(!obj.global<std::array<std::uint16_t, 4>>("label"));         // 8 bytes, not chars

    auto misspelt = obj.global<std::uint32_t>("targ_pdi");
    REQUIRE(!misspelt);
    const auto& m = misspelt.error().message;
    CHECK(m.starts_with("object 'gentypes_test': no global variable named 'targ_pdi' (globals: "));
    CHECK(m.find("targ_pid") != std::string::npos);
    CHECK(m.find("bpfco_map_record") == std::string::npos);
    CHECK(m.find("LICENSE") == std::string::npos);
    CHECK(m.find(".maps") == std::string::npos);
    CHECK(m.find("events") == std::string::npos);

    obj.load().value();
    auto ro = obj.global(gt::globals::targ_pid).value().set(1);
    REQUIRE(!ro);
    CHECK(ro.error().message.starts_with("object 'gentypes_test': global 'targ_pid' (.rodata): read-only after load"));
}
