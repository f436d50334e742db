// The contract every event stream keeps, checked once over each of them: every completion
// token works, per-operation cancellation (terminal, partial, total, and `||` with a timer)
// completes with operation_aborted and takes no record, close and destruction abort a pending
// receive, a receive after close fails with bad_descriptor, a second pending receive with
// already_started. What differs between streams (ring discards and batch limits, perf lost
// records and CPUs) stays in test_ring_buffer.cpp and test_perf_buffer.cpp.
//
// The I/O-object contract, over all eight streams (ring_buffer, perf_buffer, map_watch,
// xsk_socket, iterator_stream, user_ring_writer, log_stream, trace_pipe): both constructors,
// destruction with an operation pending completes it with operation_aborted, close() twice is
// harmless, and a closed or moved-from stream refuses operations with bad_descriptor.
#include "stream_fixture.hpp"

#include <bpfco/tracing_test.h>  // before the skeleton, which names its struct

#include "log_test.bpf.skel.h"
#include "tracing_test.bpf.skel.h"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <future>
#include <numeric>
#include <optional>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
namespace asio = boost::asio;
using bpfco::testing::producers;
using bpfco::testing::run_bounded;

namespace {

// What the contract needs from a stream type: its map and producer in stream_producers.bpf.c.
struct ring_stream {
    using stream = bpfco::ring_buffer;
    using batch = bpfco::ring_batch;
    static stream open(asio::io_context& ctx, const producers& p) { return stream(ctx, p.obj.map("ring").value()); }
    static void produce(const producers& p, std::uint32_t n) { p.run("ring_test_run", n); }
    static bool is_lost(const bpfco::ring_record&) { return false; }
    static constexpr bool ordered = true;  // one ring: records come in the order made
};

struct perf_stream {
    using stream = bpfco::perf_buffer;
    using batch = bpfco::perf_batch;
    static stream open(asio::io_context& ctx, const producers& p) { return stream(ctx, p.obj.map("perf").value()); }
    static void produce(const producers& p, std::uint32_t n) { p.run("perf_test_run", n); }
    static bool is_lost(const bpfco::perf_record& r) { return r.is_lost(); }
    static constexpr bool ordered = false;  // a ring per CPU: order holds within a CPU only
};

// The sequence numbers a batch carries, appended to `seqs`; every item must be a whole event
// (the producers make no lost records at these rates, so a lost report fails the test).
template <class S>
void take(const typename S::batch& b, std::vector<std::uint64_t>& seqs) {
    for (const auto& rec : b) {
        REQUIRE_FALSE(S::is_lost(rec));
        REQUIRE(rec.data().size() >= sizeof(bpfco_seq_event));  // perf pads raw samples to 8 bytes
        bpfco_seq_event e;
        std::memcpy(&e, rec.data().data(), sizeof e);
        seqs.push_back(e.seq);
    }
}

// True when `seqs` are exactly 0..n-1 in some order: nothing lost, nothing delivered twice
// (per-CPU perf rings keep order only within a CPU).
bool exactly_first(std::vector<std::uint64_t> seqs, std::size_t n) {
    std::vector<std::uint64_t> want(n);
    std::iota(want.begin(), want.end(), 0);
    std::ranges::sort(seqs);
    return seqs == want;
}

// Runs ctx until `done` or 5 s: a stream may keep a reactor wait outstanding after a cancelled
// receive, so running until the context is out of work would not return.
template <class Pred>
bool run_until(asio::io_context& ctx, Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        ctx.run_one_for(10ms);
        if (ctx.stopped()) ctx.restart();
    }
    return done();
}

}  // namespace

TEST_CASE_TEMPLATE("the stream contract", S, ring_stream, perf_stream) {
    BPFCO_REQUIRE_ROOT();
    bpfco::testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    auto s = S::open(ctx, p);
    REQUIRE(s.is_open());
    std::vector<std::uint64_t> seqs;

    SUBCASE("use_awaitable receives every record") {
        S::produce(p, 5);
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            while (seqs.size() < 5) {
                auto b = co_await s.async_receive(asio::use_awaitable);
                CHECK_FALSE(b.empty());
                take<S>(b, seqs);
            }
        }, asio::detached);
        CHECK(run_bounded(ctx));
        CHECK(exactly_first(seqs, 5));
    }

    SUBCASE("callbacks, deferred with as_tuple, and use_future") {
        S::produce(p, 3);
        s.async_receive([&](boost::system::error_code ec, typename S::batch b) {
            CHECK_FALSE(ec);
            take<S>(b, seqs);
        });
        CHECK(run_until(ctx, [&] { return seqs.size() >= 3; }));
        CHECK(seqs.size() == 3);

        auto op = s.async_receive(asio::deferred);
        S::produce(p, 2);
        std::move(op)(asio::as_tuple([&](std::tuple<boost::system::error_code, typename S::batch> t) {
            CHECK_FALSE(std::get<0>(t));
            take<S>(std::get<1>(t), seqs);
        }));
        CHECK(run_until(ctx, [&] { return seqs.size() >= 5; }));
        CHECK(seqs.size() == 5);

        // Initiated before the io_context runs on another thread: a stream is not thread-safe.
        auto fut = s.async_receive(asio::use_future);
        auto guard = asio::make_work_guard(ctx);
        S::produce(p, 4);
        std::thread runner([&] { ctx.run(); });
        REQUIRE(fut.wait_for(5s) == std::future_status::ready);
        take<S>(fut.get(), seqs);
        guard.reset();
        ctx.stop();
        runner.join();
        CHECK(exactly_first(seqs, 9));
    }

    SUBCASE("|| with a timer: the timer wins on an idle stream and no record is lost") {
        bool timed_out = false;
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            asio::steady_timer t(ctx, 30ms);
            auto r = co_await (s.async_receive(asio::use_awaitable) || t.async_wait(asio::use_awaitable));
            timed_out = r.index() == 1;
            S::produce(p, 5);
            // Data is there now, so either may win; a receive that loses must have taken nothing.
            asio::steady_timer t0(ctx, 0ms);
            auto r2 = co_await (t0.async_wait(asio::use_awaitable) || s.async_receive(asio::use_awaitable));
            if (r2.index() == 1) take<S>(std::get<1>(r2), seqs);
            while (seqs.size() < 5) take<S>(co_await s.async_receive(asio::use_awaitable), seqs);
        }, asio::detached);
        CHECK(run_bounded(ctx));
        CHECK(timed_out);
        CHECK(exactly_first(seqs, 5));
    }

    SUBCASE("terminal, partial and total cancellation abort the receive and take no record") {
        bool first = true;
        for (auto type : {asio::cancellation_type::terminal, asio::cancellation_type::partial,
                          asio::cancellation_type::total}) {
            CAPTURE(static_cast<int>(type));
            asio::cancellation_signal signal;
            std::optional<boost::system::error_code> got;
            s.async_receive(asio::bind_cancellation_slot(
                signal.slot(), [&](boost::system::error_code ec, typename S::batch) { got = ec; }));
            // The first receive waits on an empty stream and records arrive before the reactor
            // reports them; later ones are cancelled with records already there, before the
            // stream looked (had it looked, it would rightly complete with them).
            if (first) ctx.poll();
            first = false;
            S::produce(p, 2);
            signal.emit(type);
            CHECK(run_until(ctx, [&] { return got.has_value(); }));
            CHECK(got == asio::error::operation_aborted);
        }
        // Every record is still there for the next receives.
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            while (seqs.size() < 6) take<S>(co_await s.async_receive(asio::use_awaitable), seqs);
        }, asio::detached);
        CHECK(run_until(ctx, [&] { return seqs.size() >= 6; }));
        CHECK(exactly_first(seqs, 6));
    }

    SUBCASE("two streams in one coroutine: the || loser loses nothing") {
        auto other = producers::load();
        auto s2 = S::open(ctx, other);
        std::vector<std::uint64_t> seqs2;
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            S::produce(p, 100);
            S::produce(other, 300);
            while (seqs.size() < 100 || seqs2.size() < 300) {
                auto r = co_await (s.async_receive(asio::use_awaitable) || s2.async_receive(asio::use_awaitable));
                if (r.index() == 0) take<S>(std::get<0>(r), seqs);
                else take<S>(std::get<1>(r), seqs2);
            }
        }, asio::detached);
        CHECK(run_bounded(ctx));
        CHECK(exactly_first(seqs, 100));
        CHECK(exactly_first(seqs2, 300));
    }

    SUBCASE("a second receive while one is pending fails with already_started") {
        std::optional<boost::system::error_code> first, second;
        s.async_receive([&](boost::system::error_code ec, typename S::batch b) {
            first = ec;
            take<S>(b, seqs);
        });
        s.async_receive([&](boost::system::error_code ec, typename S::batch) { second = ec; });
        CHECK(run_until(ctx, [&] { return second.has_value(); }));
        CHECK(second == asio::error::already_started);
        CHECK_FALSE(first.has_value());
        S::produce(p, 1);
        CHECK(run_until(ctx, [&] { return first.has_value(); }));
        CHECK(first == boost::system::error_code{});
        CHECK(exactly_first(seqs, 1));
    }

    SUBCASE("try_receive takes what is there now, and an empty batch when nothing is") {
        {
            auto none = s.try_receive();
            REQUIRE(none);
            CHECK(none.value().empty());
            CHECK(none.value().size() == 0);
        }
        S::produce(p, 3);
        auto some = s.try_receive();
        REQUIRE(some);
        take<S>(some.value(), seqs);
        CHECK(some.value().size() == seqs.size());
        CHECK(exactly_first(seqs, 3));
    }

    SUBCASE("try_receive first, async_receive when empty: order and counts, nothing lost") {
        constexpr std::uint32_t rounds = 30;
        std::size_t tries = 0, empties = 0, awaits = 0;
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            std::size_t want = 0;
            for (std::uint32_t round = 0; round < rounds; ++round) {
                // Every few rounds the records come while the coroutine waits, otherwise before
                // it looks: both the synchronous and the awaited path deliver.
                bool made = round % 3 != 0;
                if (made) S::produce(p, round + 1);
                want += round + 1;
                while (seqs.size() < want) {
                    auto r = s.try_receive();
                    REQUIRE(r);
                    ++tries;
                    auto b = std::move(r).value();
                    if (b.empty()) {
                        ++empties;
                        if (!made) {
                            // Made from a handler that runs while the receive below is pending.
                            made = true;
                            asio::post(ctx, [&, n = round + 1] { S::produce(p, n); });
                        }
                        ++awaits;
                        b = co_await s.async_receive(asio::use_awaitable);
                        CHECK_FALSE(b.empty());
                    }
                    take<S>(b, seqs);
                }
                CHECK(seqs.size() == want);  // nothing delivered twice or early
                auto none = s.try_receive();
                REQUIRE(none);
                CHECK(none.value().empty());
            }
        }, asio::detached);
        CHECK(run_bounded(ctx));
        CHECK(exactly_first(seqs, rounds * (rounds + 1) / 2));
        if constexpr (S::ordered) CHECK(std::ranges::is_sorted(seqs));
        CHECK(awaits >= rounds / 3);
        CHECK(empties == awaits);
        CHECK(tries > awaits);
    }

    SUBCASE("try_receive while a receive is pending takes nothing; the receive gets the records") {
        std::optional<boost::system::error_code> first;
        auto receive = [&] {
            s.async_receive([&](boost::system::error_code ec, typename S::batch b) {
                first = ec;
                take<S>(b, seqs);
            });
        };
        // Pending on an empty stream, records made while it waits.
        receive();
        ctx.poll();
        S::produce(p, 3);
        {
            auto r = s.try_receive();
            REQUIRE(r);
            CHECK(r.value().empty());
        }
        CHECK(run_until(ctx, [&] { return first.has_value(); }));
        CHECK(first == boost::system::error_code{});
        // Pending with records there already, before the stream looked.
        first.reset();
        S::produce(p, 2);
        receive();
        {
            auto r = s.try_receive();
            REQUIRE(r);
            CHECK(r.value().empty());
        }
        CHECK(run_until(ctx, [&] { return seqs.size() >= 5; }));
        CHECK(first == boost::system::error_code{});
        CHECK(exactly_first(seqs, 5));
        if constexpr (S::ordered) CHECK(std::ranges::is_sorted(seqs));
        // Not pending any more: try_receive reads again.
        S::produce(p, 1);
        auto r = s.try_receive();
        REQUIRE(r);
        CHECK(r.value().size() == 1);
        take<S>(r.value(), seqs);
        CHECK(exactly_first(seqs, 6));
    }

    SUBCASE("close while pending aborts the receive; after close, receives fail with bad_descriptor") {
        std::optional<boost::system::error_code> pending, after;
        s.async_receive([&](boost::system::error_code ec, typename S::batch) { pending = ec; });
        ctx.poll();
        s.close();
        s.close();  // a second close is harmless
        CHECK_FALSE(s.is_open());
        CHECK(run_bounded(ctx));
        CHECK(pending == asio::error::operation_aborted);
        s.async_receive([&](boost::system::error_code ec, typename S::batch) { after = ec; });
        CHECK(run_bounded(ctx));
        CHECK(after == asio::error::bad_descriptor);
        auto r = s.try_receive();
        REQUIRE(r.has_error());
        CHECK(r.error().code.value() == EBADF);
    }

    SUBCASE("destruction while pending aborts the receive") {
        std::optional<boost::system::error_code> pending;
        s.close();  // one reader per map at a time (a second perf_buffer takes the map's slots)
        {
            auto doomed = S::open(ctx, p);
            doomed.async_receive([&](boost::system::error_code ec, typename S::batch) { pending = ec; });
            ctx.poll();
        }
        CHECK(run_until(ctx, [&] { return pending.has_value(); }));
        CHECK(pending == asio::error::operation_aborted);
    }
}

namespace {

using error_code = boost::system::error_code;
using on_done = std::function<void(error_code)>;

// Args... build a Stream from an executor and from an io_context, and create() takes them too.
template <class Stream, class Args>
struct constructs;
template <class Stream, class... Args>
struct constructs<Stream, std::tuple<Args...>> {
    using executor = typename Stream::executor_type;
    static constexpr bool value =
        std::is_constructible_v<Stream, executor, Args...> && std::is_constructible_v<Stream, asio::io_context&, Args...> &&
        std::is_same_v<decltype(Stream::create(std::declval<executor>(), std::declval<Args>()...)), bpfco::result<Stream>>;
};

// Each stream's set-up for the I/O-object contract: `open(ctx)` makes one (nullopt, after
// testing::skip, where this machine cannot), `start(s, done)` starts the operation that waits
// (a receive, or a reserve on a full ring), calling `done` with its error.
struct ring_io {
    using stream = bpfco::ring_buffer;
    using args = std::tuple<bpfco::map>;
    static constexpr bool waits = true;
    producers p = producers::load();
    std::optional<stream> open(asio::io_context& ctx) { return stream(ctx, p.obj.map("ring").value()); }
    static void start(stream& s, on_done done) { s.async_receive([done](error_code ec, auto&&) { done(ec); }); }
};

struct perf_io {
    using stream = bpfco::perf_buffer;
    using args = std::tuple<bpfco::map>;
    static constexpr bool waits = true;
    producers p = producers::load();
    std::optional<stream> open(asio::io_context& ctx) { return stream(ctx, p.obj.map("perf").value()); }
    static void start(stream& s, on_done done) { s.async_receive([done](error_code ec, auto&&) { done(ec); }); }
};

struct map_watch_io {
    using view = bpfco::array<std::uint64_t>;
    using stream = bpfco::map_watch<view>;
    using args = std::tuple<view, std::chrono::seconds>;
    static constexpr bool waits = true;
    std::optional<stream> open(asio::io_context& ctx) {
        auto counters = view::make(bpfco::map::create(bpfco::map_type::array, "contract_arr", 4, 8, 2).value()).value();
        return stream(ctx, std::move(counters), 10s);
    }
    // The first receive reads a baseline and waits an interval.
    static void start(stream& s, on_done done) { s.async_receive([done](error_code ec, auto&&) { done(ec); }); }
};

struct iterator_io {
    using stream = bpfco::iterator_stream;
    using args = std::tuple<const bpfco::link&>;
    // The read is made as soon as the executor runs it: never polled while pending.
    static constexpr bool waits = false;
    bpfco::object obj;
    std::optional<bpfco::link> l;
    std::optional<stream> open(asio::io_context& ctx) {
        obj = bpfco::object::open_memory("tracing_test", bpfco::testing::elf_of(tracing_test_bpf__elf_bytes)).value();
        // Only list_tasks is needed; the map-element iterator needs more than some machines allow.
        for (auto& prog : obj.programs())
            if (prog.name() != "list_tasks") prog.set_autoload(false).value();
        obj.load().value();
        l = obj.program("list_tasks").value().attach_iter().value();
        return stream(ctx, *l);
    }
    // A read is made on the executor, never at once: destroying the stream first aborts it.
    static void start(stream& s, on_done done) {
        static char buf[64];
        s.async_read_some(asio::buffer(buf), [done](error_code ec, std::size_t) { done(ec); });
    }
};

struct user_ring_io {
    using stream = bpfco::user_ring_writer;
    using args = std::tuple<bpfco::map>;
    static constexpr bool waits = true;
    std::optional<stream> open(asio::io_context& ctx) {
        return stream(ctx, bpfco::map::create(bpfco::map_type::user_ringbuf, "contract_urb", 0, 0, 4096).value());
    }
    // Fills the ring to the last byte (a record takes 8 more than its size; nothing drains it),
    // so the map fd is not writable and the reserve waits.
    static void start(stream& s, on_done done) {
        if (s.is_open()) REQUIRE(s.try_reserve(4096 - 8));
        s.async_reserve(8, [done](error_code ec, std::span<std::byte>) { done(ec); });
    }
};

struct log_io {
    using stream = bpfco::log_stream;
    using args = std::tuple<const bpfco::object&>;
    static constexpr bool waits = true;
    bpfco::object obj = bpfco::object::load_memory("log_test", bpfco::testing::elf_of(log_test_bpf__elf_bytes)).value();
    std::optional<stream> open(asio::io_context& ctx) { return stream(ctx, obj); }
    static void start(stream& s, on_done done) { s.async_receive([done](error_code ec, auto&&) { done(ec); }); }
};

struct trace_pipe_io {
    using stream = bpfco::trace_pipe;
    using args = std::tuple<std::string>;
    static constexpr bool waits = true;
    // A tracing instance of our own: the global trace_pipe belongs to whoever reads it.
    std::string instance = "/sys/kernel/tracing/instances/bpfco_contract_tp";
    bool made = false;
    std::optional<stream> open(asio::io_context& ctx) {
        ::rmdir(instance.c_str());
        if (::mkdir(instance.c_str(), 0755) != 0) {
            bpfco::testing::skip("cannot make the tracefs instance " + instance + ": " + std::strerror(errno));
            return std::nullopt;
        }
        made = true;
        return stream(ctx, instance + "/trace_pipe");
    }
    ~trace_pipe_io() {
        if (made) ::rmdir(instance.c_str());
    }
    static void start(stream& s, on_done done) { s.async_receive([done](error_code ec, auto&&) { done(ec); }); }
};

struct xsk_io {
    using stream = bpfco::xsk_socket;
    using args = std::tuple<std::string_view>;
    static constexpr bool waits = true;
    // A veth pair inside a namespace of our own; no XDP program is needed to bind a socket.
    std::string ns = "bpfco_contract_ns";
    bool made = false;
    std::optional<stream> open(asio::io_context& ctx) {
        bpfco::testing::run("ip netns del " + ns + " 2>/dev/null");
        REQUIRE(bpfco::testing::run("ip netns add " + ns) == 0);
        made = true;
        REQUIRE(bpfco::testing::run("ip -n " + ns + " link add bpfco_ctr_a type veth peer name bpfco_ctr_b") == 0);
        REQUIRE(bpfco::testing::run("ip -n " + ns + " link set bpfco_ctr_a up") == 0);
        REQUIRE(bpfco::testing::run("ip -n " + ns + " link set bpfco_ctr_b up") == 0);
        bpfco::unique_fd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        bpfco::unique_fd target(::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC));
        REQUIRE(home);
        REQUIRE(target);
        REQUIRE(::setns(target.get(), CLONE_NEWNET) == 0);
        auto created = stream::create(ctx.get_executor(), "bpfco_ctr_a");
        REQUIRE(::setns(home.get(), CLONE_NEWNET) == 0);
        return std::move(created).value();
    }
    ~xsk_io() {
        if (made) bpfco::testing::run("ip netns del " + ns);
    }
    static void start(stream& s, on_done done) { s.async_receive([done](error_code ec, auto&&) { done(ec); }); }
};

}  // namespace

TEST_CASE_TEMPLATE("the I/O-object contract", S, ring_io, perf_io, map_watch_io, xsk_io, iterator_io, user_ring_io,
                   log_io, trace_pipe_io) {
    BPFCO_REQUIRE_ROOT();
    using stream = typename S::stream;
    using executor = typename stream::executor_type;
    // Both constructors, and create() beside them.
    static_assert(std::is_same_v<executor, asio::any_io_executor>);
    static_assert(constructs<stream, typename S::args>::value);
    static_assert(!std::is_copy_constructible_v<stream> && std::is_nothrow_move_constructible_v<stream>);
    static_assert(std::is_nothrow_move_assignable_v<stream>);

    S set_up;
    asio::io_context ctx;
    auto opened = set_up.open(ctx);
    if (!opened) return;
    stream& s = *opened;
    REQUIRE(s.is_open());
    CHECK(s.get_executor() == executor(ctx.get_executor()));

    SUBCASE("destruction while pending completes the operation with operation_aborted") {
        std::optional<error_code> pending;
        {
            auto doomed = std::move(s);
            S::start(doomed, [&](error_code ec) { pending = ec; });
            if (S::waits) ctx.poll();
        }
        CHECK(run_until(ctx, [&] { return pending.has_value(); }));
        CHECK(pending == asio::error::operation_aborted);
    }

    SUBCASE("close while pending aborts; close twice is harmless; later operations fail with bad_descriptor") {
        std::optional<error_code> pending, after;
        S::start(s, [&](error_code ec) { pending = ec; });
        if (S::waits) ctx.poll();
        s.close();
        s.close();
        CHECK_FALSE(s.is_open());
        CHECK(run_until(ctx, [&] { return pending.has_value(); }));
        CHECK(pending == asio::error::operation_aborted);
        S::start(s, [&](error_code ec) { after = ec; });
        CHECK(run_until(ctx, [&] { return after.has_value(); }));
        CHECK(after == asio::error::bad_descriptor);
    }

    SUBCASE("a moved-from stream keeps its executor and fails with bad_descriptor") {
        stream taken = std::move(s);
        CHECK(taken.is_open());
        CHECK_FALSE(s.is_open());
        CHECK(s.get_executor() == executor(ctx.get_executor()));
        s.close();
        std::optional<error_code> got;
        S::start(s, [&](error_code ec) { got = ec; });
        CHECK(run_until(ctx, [&] { return got.has_value(); }));
        CHECK(got == asio::error::bad_descriptor);
        // Assigned again, it is the stream it took.
        s = std::move(taken);
        CHECK(s.is_open());
        CHECK_FALSE(taken.is_open());
    }
}
