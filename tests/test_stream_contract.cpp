// The contract every event stream keeps, checked once over each of them: every completion
// token works, per-operation cancellation (terminal, partial, total, and `||` with a timer)
// completes with operation_aborted and takes no record, close and destruction abort a pending
// receive, a receive after close fails with bad_descriptor, a second pending receive with
// already_started. What differs between streams (ring discards and batch limits, perf lost
// records and CPUs) stays in test_ring_buffer.cpp and test_perf_buffer.cpp.
#include "stream_fixture.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <cstring>
#include <future>
#include <numeric>
#include <optional>
#include <thread>
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
};

struct perf_stream {
    using stream = bpfco::perf_buffer;
    using batch = bpfco::perf_batch;
    static stream open(asio::io_context& ctx, const producers& p) { return stream(ctx, p.obj.map("perf").value()); }
    static void produce(const producers& p, std::uint32_t n) { p.run("perf_test_run", n); }
    static bool is_lost(const bpfco::perf_record& r) { return r.is_lost(); }
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
