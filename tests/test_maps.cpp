#include "support.hpp"

#include "maps_test.bpf.skel.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>

using namespace bpfco;
using namespace std::chrono_literals;
using bpfco::testing::elf_of;
namespace asio = boost::asio;

namespace {
object load_maps_test() { return object::load_memory("maps_test", elf_of(maps_test_bpf__elf_bytes)).value(); }

// Ethernet + IPv4 header with the given destination; the rest is zero.
std::vector<std::byte> ipv4_packet(std::uint32_t daddr_network_order) {
    std::vector<std::byte> p(14 + 20);
    p[12] = std::byte{0x08};  // ETH_P_IP, big endian
    p[14] = std::byte{0x45};  // version 4, header length 5 words
    std::memcpy(p.data() + 14 + 16, &daddr_network_order, 4);
    return p;
}

std::uint32_t run_xdp(const program& prog, std::span<const std::byte> packet) {
    test_run_options o;
    o.data_in = packet;
    return test_run(prog, o).value().return_value;
}

// raw_tp test runs take no repeat count and may be placed on a CPU.
void run_raw_tp(const program& prog, std::optional<std::uint32_t> cpu) {
    test_run_options o;
    o.repeat = 0;
    if (cpu) {
        o.flags = BPF_F_TEST_RUN_ON_CPU;
        o.cpu = *cpu;
    }
    test_run(prog, o).value();
}

hash_map<std::uint32_t, std::uint64_t> counters(std::uint32_t max_entries) {
    return hash_map<std::uint32_t, std::uint64_t>::make(
               map::create(bpfco::map_type::hash, "counters", 4, 8, max_entries).value())
        .value();
}

// A second view on the same kernel map, for a map_watch to own.
template <class View>
View second_view(const View& v) {
    return View::make(v.untyped().duplicate().value()).value();
}
}  // namespace

TEST_CASE("per-CPU counters written by the kernel sum to the runs made on each CPU") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_maps_test();
    auto prog = obj.program("count_per_cpu").value();
    auto arr = obj.map<per_cpu_array<std::uint64_t>>("cpu_counts").value();
    auto hash = obj.map<per_cpu_hash_map<std::uint32_t, std::uint64_t>>("cpu_hash_counts").value();
    const std::size_t cpus = possible_cpus().value();
    REQUIRE(arr.cpus() == cpus);

    const std::uint32_t online = std::thread::hardware_concurrency();
    const std::uint32_t on_cpu0 = 5, on_cpu1 = online > 1 ? 9 : 0;
    for (std::uint32_t i = 0; i < on_cpu0; ++i) run_raw_tp(prog, 0);
    for (std::uint32_t i = 0; i < on_cpu1; ++i) run_raw_tp(prog, 1);
    if (online < 2) testing::skip("one online CPU: only CPU 0 was driven");

    auto per_cpu = arr.lookup(0).value().value();
    REQUIRE(per_cpu.size() == cpus);
    CHECK(per_cpu[0] == on_cpu0);
    if (cpus > 1) CHECK(per_cpu[1] == on_cpu1);
    CHECK(sum<std::uint64_t>(per_cpu) == on_cpu0 + on_cpu1);
    CHECK(arr.lookup_sum(0).value() == on_cpu0 + on_cpu1);
    CHECK(arr.lookup_sum(1).value() == 0u);

    auto h = hash.lookup(7).value().value();
    CHECK(h[0] == on_cpu0);
    CHECK(sum<std::uint64_t>(h) == on_cpu0 + on_cpu1);
    CHECK_FALSE(hash.lookup(8).value().has_value());

    // The batch and per-key paths agree on the 8-byte-rounded per-CPU layout.
    for (auto how : {read_method::batch, read_method::per_key}) {
        auto all = hash.read_all_summed(how).value();
        REQUIRE(all.size() == 1);
        CHECK(all[0] == std::pair<std::uint32_t, std::uint64_t>{7, on_cpu0 + on_cpu1});
        CHECK(arr.read_all(how).value().size() == 4);
    }

    // A 4-byte value is stored 8 bytes apart per CPU: user space writes, user space reads back.
    auto narrow = per_cpu_array<std::uint32_t>::make(
                      map::create(bpfco::map_type::percpu_array, "narrow", 4, 4, 2).value())
                      .value();
    std::vector<std::uint32_t> in(cpus);
    for (std::size_t c = 0; c < cpus; ++c) in[c] = static_cast<std::uint32_t>(100 + c);
    narrow.insert(1, in).value();
    CHECK(narrow.lookup(1).value().value() == in);
    CHECK(narrow.insert(1, std::vector<std::uint32_t>(cpus + 1)).has_error());
}

TEST_CASE("LPM trie: the kernel picks the longest matching prefix") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_maps_test();
    auto routes = obj.map<lpm_trie<ipv4_prefix_key, std::uint32_t>>("routes").value();
    auto hit = obj.map<array<std::uint32_t>>("route_hit").value();
    auto prog = obj.program("lookup_route").value();
    routes.insert(ipv4_prefix("10.0.0.0/8").value(), 8).value();
    routes.insert(ipv4_prefix("10.1.2.0/24").value(), 24).value();
    routes.insert(ipv4_prefix("10.1.2.3").value(), 32).value();

    struct probe {
        const char* addr;
        std::uint32_t want;
    };
    for (auto [addr, want] : {probe{"10.1.2.3", 32}, probe{"10.1.2.4", 24}, probe{"10.9.9.9", 8},
                              probe{"11.0.0.1", 0}}) {
        CAPTURE(addr);
        CHECK(run_xdp(prog, ipv4_packet(ipv4(addr).value())) == XDP_PASS);
        CHECK(hit.lookup(0).value() == want);
        // The same longest-prefix match through the syscall.
        auto from_user = routes.lookup(ipv4_prefix(addr).value()).value();
        CHECK(from_user.value_or(0) == want);
    }
    CHECK(routes.erase(ipv4_prefix("10.1.2.3/32").value()).value());
    run_xdp(prog, ipv4_packet(ipv4("10.1.2.3").value()));
    CHECK(hit.lookup(0).value() == 24u);

    auto all = routes.read_all(read_method::per_key).value();
    CHECK(all.size() == 2);
    CHECK(routes.read_all().value().size() == all.size());

    CHECK(ipv4_prefix("10.0.0.0/33").has_error());
    CHECK(ipv4("10.0.0").has_error());
    CHECK(ipv6_prefix("2001:db8::/32").value().prefixlen == 32);
}

TEST_CASE("queue is first in first out, stack last in first out") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto q = queue<std::uint64_t>::make(map::create(bpfco::map_type::queue, "q", 0, 8, 4).value()).value();
    auto s = stack<std::uint64_t>::make(map::create(bpfco::map_type::stack, "s", 0, 8, 4).value()).value();
    CHECK_FALSE(q.pop().value().has_value());
    CHECK_FALSE(s.peek().value().has_value());
    for (std::uint64_t v : {1, 2, 3, 4}) {
        q.push(v).value();
        s.push(v).value();
    }
    CHECK(q.push(5).has_error());                 // full
    q.push(5, update_flags::exist).value();       // full: drops the oldest (1)
    CHECK(q.peek().value() == 2u);
    std::vector<std::uint64_t> qo, so;
    while (auto v = q.pop().value()) qo.push_back(*v);
    while (auto v = s.pop().value()) so.push_back(*v);
    CHECK(qo == std::vector<std::uint64_t>{2, 3, 4, 5});
    CHECK(so == std::vector<std::uint64_t>{4, 3, 2, 1});
    CHECK_FALSE(q.pop().value().has_value());
}

TEST_CASE("LRU hash evicts the oldest untouched keys and never exceeds its capacity") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    constexpr std::uint32_t capacity = 1024, inserted = 4096;
    auto lru = lru_hash_map<std::uint32_t, std::uint32_t>::make(
                   map::create(bpfco::map_type::lru_hash, "lru", 4, 4, capacity).value())
                   .value();
    for (std::uint32_t k = 0; k < inserted; ++k) {
        lru.insert(k, k).value();
        if (k % 512 == 511) REQUIRE(lru.keys().value().size() <= capacity);
    }
    auto keys = lru.keys().value();
    MESSAGE("keys left after ", inserted, " inserts into ", capacity, ": ", keys.size());
    CHECK(keys.size() <= capacity);
    CHECK(keys.size() > capacity / 2);
    // The first capacity keys were evicted by the next three rounds of inserts.
    CHECK(std::none_of(keys.begin(), keys.end(), [](std::uint32_t k) { return k < capacity; }));
    CHECK(lru.lookup(inserted - 1).value() == inserted - 1);
}

TEST_CASE("batch dump of a 100,000-entry hash map equals the per-key dump") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    REQUIRE_MESSAGE(features::batch_ops(), "this kernel has no BPF_MAP_LOOKUP_BATCH");
    constexpr std::uint32_t n = 100'000;
    auto m = counters(n);
    for (std::uint32_t k = 0; k < n; ++k) m.insert(k * 2654435761u, std::uint64_t{k} * 3).value();

    auto batch = m.read_all(read_method::batch).value();
    auto per_key = m.read_all(read_method::per_key).value();
    REQUIRE(batch.size() == n);
    REQUIRE(per_key.size() == n);
    std::sort(batch.begin(), batch.end());
    std::sort(per_key.begin(), per_key.end());
    CHECK(batch == per_key);
    CHECK(std::adjacent_find(batch.begin(), batch.end(),
                             [](auto& a, auto& b) { return a.first == b.first; }) == batch.end());
    CHECK(m.keys().value().size() == n);

    std::vector<std::byte> k(4 * 8), v(8 * 8);
    map_cursor cursor(m.untyped(), sizeof(std::uint64_t));
    CHECK(cursor.next(k, v).value() > 0);  // at most 8: the room given
    CHECK(cursor.method() == read_method::batch);
    CHECK_FALSE(cursor.done());

    // A hash bucket holding more entries than the room given: 0 entries, not done, and with
    // room for chunk() entries the walk goes on. Two keys share one of two buckets half the time.
    bool bucket_too_big = false;
    for (int attempt = 0; attempt < 40 && !bucket_too_big; ++attempt) {
        auto two = counters(2);
        two.insert(0, 0).value();
        two.insert(static_cast<std::uint32_t>(attempt) + 1, 1).value();
        map_cursor c(two.untyped(), sizeof(std::uint64_t), read_method::batch);
        const std::size_t got = c.next(std::span(k).first(4), std::span(v).first(8)).value();
        if (got == 0) {
            bucket_too_big = true;
            CHECK_FALSE(c.done());
            REQUIRE(c.chunk() == 2);
            CHECK(c.next(std::span(k).first(8), std::span(v).first(16)).value() == 2);
        }
    }
    CHECK(bucket_too_big);

    // A map type without batch lookups: automatic falls back to get-next-key.
    auto devmap = map::create(bpfco::map_type::devmap, "devmap", 4, 4, 4).value();
    const std::uint32_t slot = 2, loopback = 1;
    devmap.insert_bytes(&slot, &loopback, update_flags::any).value();
    map_cursor fallback(devmap, sizeof(std::uint32_t));
    CHECK(fallback.next(k, v).value() == 1);
    CHECK(fallback.method() == read_method::per_key);
    CHECK(fallback.done());
    CHECK(std::memcmp(k.data(), &slot, 4) == 0);
    CHECK(std::memcmp(v.data(), &loopback, 4) == 0);

    // An empty map and an array map through the batch path.
    CHECK(counters(4).read_all(read_method::batch).value().empty());
    auto arr = array<std::uint64_t>::make(map::create(bpfco::map_type::array, "arr", 4, 8, 3).value()).value();
    arr.insert(2, 42).value();
    auto a = arr.read_all(read_method::batch).value();
    REQUIRE(a.size() == 3);
    CHECK(a[2] == std::pair<std::uint32_t, std::uint64_t>{2, 42});
}

TEST_CASE("read_all into map_entries: in place, on both paths, empty, full, reused") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    constexpr std::uint32_t n = 10'000;
    auto m = counters(n);
    for (auto how : {read_method::batch, read_method::per_key}) {
        CAPTURE(static_cast<int>(how));
        map_entries<std::uint32_t, std::uint64_t> entries;
        m.read_all(entries, how).value();
        CHECK(entries.empty());
        CHECK(entries.begin() == entries.end());

        // Filled to max_entries, so the walk ends exactly at the storage's size; values are
        // derived from keys so a key/value mismatch in the arrays shows.
        for (std::uint32_t k = 0; k < n; ++k) m.insert(k * 2654435761u, std::uint64_t{k * 2654435761u} * 3).value();
        m.read_all(entries, how).value();
        REQUIRE(entries.size() == n);
        REQUIRE(entries.keys().size() == n);
        REQUIRE(entries.values().size() == n);
        const std::uint32_t* storage = entries.keys().data();
        std::size_t seen = 0;
        for (auto [k, v] : entries) {
            CHECK(v == std::uint64_t{k} * 3);
            ++seen;
        }
        CHECK(seen == n);
        std::vector<std::uint32_t> keys(entries.keys().begin(), entries.keys().end());
        std::sort(keys.begin(), keys.end());
        CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
        CHECK(entries[n - 1].second == std::uint64_t{entries[n - 1].first} * 3);

        // A second read reuses the storage; an emptied map reads as empty.
        m.read_all(entries, how).value();
        CHECK(entries.size() == n);
        CHECK(entries.keys().data() == storage);
        for (std::uint32_t k = 0; k < n; ++k) CHECK(m.erase(k * 2654435761u).value());
        m.read_all(entries, how).value();
        CHECK(entries.empty());
    }

    // Storage sized for a small map grows (doubling) when reused for a larger one.
    {
        auto small = counters(4);
        small.insert(1, 3).value();
        auto large = counters(n);
        for (std::uint32_t k = 0; k < n; ++k) large.insert(k, std::uint64_t{k} * 3).value();
        map_entries<std::uint32_t, std::uint64_t> entries;
        small.read_all(entries).value();
        REQUIRE(entries.size() == 1);
        large.read_all(entries).value();
        REQUIRE(entries.size() == n);
        CHECK(std::all_of(entries.begin(), entries.end(), [](auto e) { return e.second == std::uint64_t{e.first} * 3; }));
    }

    // An array is always full: every index, in order, on both paths.
    auto arr = array<std::uint64_t>::make(map::create(bpfco::map_type::array, "arr", 4, 8, 5000).value()).value();
    for (std::uint32_t i = 0; i < 5000; ++i) arr.insert(i, i + 1).value();
    for (auto how : {read_method::batch, read_method::per_key}) {
        map_entries<std::uint32_t, std::uint64_t> entries;
        arr.read_all(entries, how).value();
        REQUIRE(entries.size() == 5000);
        for (std::uint32_t i = 0; i < 5000; ++i) {
            CHECK(entries.keys()[i] == i);
            CHECK(entries.values()[i] == i + 1);
        }
    }

    // A map user space may not read (BPF_F_WRONLY): an error naming the map, on both paths, and
    // nothing left behind of the previous read.
    auto readable = counters(4);
    readable.insert(1, 2).value();
    auto write_only = hash_map<std::uint32_t, std::uint64_t>::make(
                          map::create(bpfco::map_type::hash, "bpfco_dump_wo", 4, 8, 4, BPF_F_WRONLY).value())
                          .value();
    write_only.insert(1, 2).value();
    for (auto how : {read_method::batch, read_method::per_key}) {
        map_entries<std::uint32_t, std::uint64_t> entries;
        readable.read_all(entries, how).value();
        REQUIRE(entries.size() == 1);
        auto denied = write_only.read_all(entries, how);
        REQUIRE(denied.has_error());
        CHECK(denied.error().message.find("bpfco_dump_wo") != std::string::npos);
        CHECK(entries.empty());
    }
}

TEST_CASE("tail-call chain reaches the second program; clearing the slot changes the verdict") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_maps_test();
    auto table = obj.map<program_array>("jump_table").value();
    auto entry = obj.program("chain_entry").value();
    const std::vector<std::byte> packet = ipv4_packet(0);
    CHECK(run_xdp(entry, packet) == XDP_DROP);
    table.insert(0, obj.program("chain_second").value()).value();
    CHECK(run_xdp(entry, packet) == XDP_TX);
    CHECK(table.erase(0).value());
    CHECK(run_xdp(entry, packet) == XDP_DROP);
    CHECK_FALSE(table.erase(0).value());
}

TEST_CASE("a view whose sizes or type differ from the kernel map is an error naming both") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_maps_test();
    auto sized = obj.map<per_cpu_array<std::uint32_t>>("cpu_counts");
    REQUIRE(sized.has_error());
    MESSAGE(sized.error().message);
    CHECK(sized.error().message.find("cpu_counts") != std::string::npos);
    CHECK(sized.error().message.find("value size 8") != std::string::npos);
    CHECK(sized.error().message.find("value size 4") != std::string::npos);

    auto typed = obj.map<hash_map<std::uint32_t, std::uint64_t>>("cpu_counts");
    REQUIRE(typed.has_error());
    MESSAGE(typed.error().message);
    CHECK(typed.error().message.find("percpu_array") != std::string::npos);

    auto key = obj.map<lpm_trie<ipv6_prefix_key, std::uint32_t>>("routes");
    REQUIRE(key.has_error());
    MESSAGE(key.error().message);
    CHECK(key.error().message.find("key size 8") != std::string::npos);
    CHECK(key.error().message.find("key size 20") != std::string::npos);
}

TEST_CASE("map_watch reports the rate at which the kernel counts, on a drift-free schedule") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_maps_test();
    auto prog = obj.program("count_per_cpu").value();
    asio::io_context io;
    map_watch watch(io, obj.map<per_cpu_array<std::uint64_t>>("cpu_counts").value(), 200ms);

    // The driver keeps its own drift-free schedule: one kernel run every 2 ms, 500 per second.
    std::atomic<bool> stop{false};
    std::thread driver([&] {
        auto next = std::chrono::steady_clock::now();
        while (!stop) {
            run_raw_tp(prog, std::nullopt);
            next += 2ms;
            std::this_thread::sleep_until(next);
        }
    });

    std::vector<map_snapshot<std::uint32_t, std::uint64_t>> snaps;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 5; ++i) {
            snaps.push_back(co_await watch.async_receive(asio::use_awaitable));
            // Time spent by the caller must not push the schedule back.
            std::this_thread::sleep_for(50ms);
        }
    }, asio::detached);
    io.run();
    stop = true;
    driver.join();

    REQUIRE(snaps.size() == 5);
    std::uint64_t delta = 0;
    std::chrono::nanoseconds elapsed{};
    for (auto& s : snaps) {
        CHECK(s.entries.size() == 4);
        MESSAGE("rate ", s.rate(0), "/s over ", std::chrono::duration<double, std::milli>(s.elapsed).count(), " ms");
        delta += s.delta(0);
        elapsed += s.elapsed;
        CHECK(s.rate(1) == 0.0);
    }
    const double rate = delta / std::chrono::duration<double>(elapsed).count();
    MESSAGE("mean rate ", rate, "/s, driven at 500/s");
    CHECK(rate > 500 * 0.6);
    CHECK(rate < 500 * 1.2);
    // Four intervals of 200 ms from the first snapshot to the last: had each step been
    // "now + interval", the 50 ms the caller sleeps would add up to 200 ms.
    const auto span = snaps.back().time - snaps.front().time;
    MESSAGE("4 intervals took ", std::chrono::duration<double, std::milli>(span).count(), " ms");
    CHECK(span > 750ms);  // the first read may start late, when its timer fired late
    CHECK(span < 900ms);
}

TEST_CASE("map_watch: deltas, cancellation, close and every completion token") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context io;
    auto m = counters(16);
    m.insert(1, 10).value();
    map_watch watch(io, second_view(m), 20ms);

    SUBCASE("callback: deltas against the previous snapshot, new keys count from zero") {
        std::vector<map_snapshot<std::uint32_t, std::uint64_t>> snaps;
        std::function<void(boost::system::error_code, map_snapshot<std::uint32_t, std::uint64_t>)> on;
        on = [&](boost::system::error_code ec, map_snapshot<std::uint32_t, std::uint64_t> s) {
            REQUIRE_FALSE(ec);
            snaps.push_back(std::move(s));
            if (snaps.size() == 1) {
                m.insert(1, 15).value();
                m.insert(2, 4).value();
            }
            if (snaps.size() < 2) watch.async_receive(on);
        };
        m.insert(1, 12).value();  // before the baseline read: no delta
        watch.async_receive(on);
        io.run();
        REQUIRE(snaps.size() == 2);
        CHECK(snaps[0].value(1) == 12u);
        CHECK(snaps[0].delta(1) == 0u);
        CHECK(snaps[1].value(1) == 15u);
        CHECK(snaps[1].delta(1) == 3u);
        CHECK(snaps[1].delta(2) == 4u);
        CHECK(snaps[1].rate(1) > 0);
        CHECK(snaps[1].find(3) == nullptr);
    }
    SUBCASE("cancel() completes the pending operation with operation_aborted") {
        boost::system::error_code got;
        watch.async_receive([&](boost::system::error_code ec, auto) { got = ec; });
        io.poll();  // the baseline read; the operation now waits for its deadline
        watch.cancel();
        io.run();
        CHECK(got == asio::error::operation_aborted);
        // The watch is still usable after a cancel.
        io.restart();
        boost::system::error_code ec = asio::error::would_block;
        std::uint64_t value = 0;
        asio::co_spawn(io, [&]() -> asio::awaitable<void> {
            auto [e, snap] = co_await watch.async_receive(asio::as_tuple(asio::use_awaitable));
            ec = e;
            value = snap.value(1);
        }, asio::detached);
        io.run();
        CHECK_FALSE(ec);
        CHECK(value == 10u);
    }
    SUBCASE("per-operation cancellation and awaitable ||") {
        asio::cancellation_signal signal;
        boost::system::error_code got;
        watch.async_receive(asio::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, auto) { got = ec; }));
        io.poll();
        signal.emit(asio::cancellation_type::terminal);
        io.run();
        CHECK(got == asio::error::operation_aborted);

        using namespace asio::experimental::awaitable_operators;
        io.restart();
        std::size_t winner = 9;
        asio::co_spawn(io, [&]() -> asio::awaitable<void> {
            asio::steady_timer t(io, 1ms);
            auto r = co_await (watch.async_receive(asio::use_awaitable) || t.async_wait(asio::use_awaitable));
            winner = r.index();
        }, asio::detached);
        io.run();
        CHECK(winner == 1);
    }
    SUBCASE("use_future from another thread, and deferred") {
        std::thread runner;
        auto guard = asio::make_work_guard(io);
        runner = std::thread([&] { io.run(); });
        auto snap = watch.async_receive(asio::use_future).get();
        CHECK(snap.value(1) == 10u);
        guard.reset();
        runner.join();

        io.restart();
        bool called = false;
        auto op = watch.async_receive(asio::deferred);
        std::move(op)([&](boost::system::error_code ec, auto s) {
            called = !ec && s.entries.size() == 1;
        });
        io.run();
        CHECK(called);
    }
    SUBCASE("close() and destruction with an operation pending are safe") {
        boost::system::error_code first, after_close;
        watch.async_receive([&](boost::system::error_code ec, auto) { first = ec; });
        io.poll();
        watch.close();
        watch.async_receive([&](boost::system::error_code ec, auto) { after_close = ec; });
        io.run();
        CHECK(first == asio::error::operation_aborted);
        CHECK(after_close == asio::error::bad_descriptor);

        io.restart();
        boost::system::error_code destroyed;
        {
            map_watch gone(io, second_view(m), 1h);
            gone.async_receive([&](boost::system::error_code ec, auto) { destroyed = ec; });
            io.poll();
        }
        io.run();
        CHECK(destroyed == asio::error::operation_aborted);
    }
}

TEST_CASE("every typed view pins itself and re-opens with from_pinned") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    const std::string path = "/sys/fs/bpf/bpfco_maps_view_pin";
    (void)unpin(path);  // a leftover of an interrupted run
    auto counts = hash_map<std::uint32_t, std::uint64_t>::make(
                      map::create(map_type::hash, "view_pin", 4, 8, 4).value())
                      .value();
    counts.insert(1, 42).value();
    counts.pin(path).value();
    auto again = hash_map<std::uint32_t, std::uint64_t>::from_pinned(path).value();
    CHECK(again.lookup(1).value() == std::optional<std::uint64_t>{42});
    auto wrong = array<std::uint64_t>::from_pinned(path);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().message.find(path) != std::string::npos);
    unpin(path).value();
    // Each kind of view has the one from_pinned; a missing pin fails naming the path.
    const std::string absent = "/sys/fs/bpf/bpfco_maps_view_absent";
    auto missing = [&](auto r) {
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find(absent) != std::string::npos);
    };
    missing(lru_hash_map<std::uint32_t, std::uint32_t>::from_pinned(absent));
    missing(per_cpu_array<std::uint64_t>::from_pinned(absent));
    missing(per_cpu_hash_map<std::uint32_t, std::uint64_t>::from_pinned(absent));
    missing(lpm_trie<ipv4_prefix_key, std::uint32_t>::from_pinned(absent));
    missing(queue<std::uint64_t>::from_pinned(absent));
    missing(bloom_filter<std::uint64_t>::from_pinned(absent));
    missing(stack_trace_map::from_pinned(absent));
    missing(program_array::from_pinned(absent));
    missing(array_of_maps::from_pinned(absent));
    missing(hash_of_maps<std::uint32_t>::from_pinned(absent));
    missing(devmap::from_pinned(absent));
    missing(cpumap::from_pinned(absent));
    missing(xskmap::from_pinned(absent));
    missing(sockmap::from_pinned(absent));
}
