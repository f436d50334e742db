// What is particular to ring_buffer: record spans and positions, batch limits and commits,
// drops counted exactly, the wake-up flood, BPF_RB_NO_WAKEUP. The contract every stream keeps
// (tokens, cancellation, close) is checked in test_stream_contract.cpp.
#include "stream_fixture.hpp"

#include <atomic>
#include <thread>

using namespace bpfco;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using bpfco::testing::producers;
using bpfco::testing::run_bounded;

namespace {
// Receives until `want` records arrived; checks each is a bpfco_seq_event.
asio::awaitable<void> collect(bpfco::ring_buffer& rb, std::size_t want, std::vector<bpfco_seq_event>& out) {
    while (out.size() < want) {
        auto batch = co_await rb.async_receive(asio::use_awaitable);
        CHECK(!batch.empty());
        for (const auto& rec : batch) {
            auto* e = rec.as<bpfco_seq_event>();
            REQUIRE(e);
            out.push_back(*e);
        }
    }
}
}  // namespace

TEST_CASE("N getppid calls give exactly N events with our pid and consecutive sequence numbers") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    auto link = p.obj.program("ring_getppid").value().attach().value();
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    constexpr int n = 1000;
    testing::getppid_n(n);
    std::vector<bpfco_seq_event> got;
    asio::co_spawn(ctx, collect(rb, n, got), asio::detached);
    CHECK(run_bounded(ctx));
    REQUIRE(got.size() == n);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].seq == i);
        CHECK(got[i].pid == static_cast<std::uint32_t>(::getpid()));
    }
    CHECK(rb.available_bytes() == 0);
    CHECK(p.drops() == 0);
}

TEST_CASE("a test_run sequence arrives whole and in order; positions advance by record spans") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load(1 << 20);
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    CHECK(rb.capacity() == (1u << 20));
    constexpr std::uint32_t n = 10000;
    p.run("ring_test_run", n);
    CHECK(rb.available_bytes() == n * ring_records::record_span(sizeof(bpfco_seq_event)));
    std::vector<bpfco_seq_event> got;
    asio::co_spawn(ctx, collect(rb, n, got), asio::detached);
    CHECK(run_bounded(ctx));
    REQUIRE(got.size() == n);
    for (std::uint32_t i = 0; i < n; ++i) REQUIRE(got[i].seq == i);
    CHECK(rb.available_bytes() == 0);
}

TEST_CASE("typed views are size-checked; a non-ringbuf map is an error naming it") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    p.run("ring_test_run", 1);
    auto b = rb.try_receive().value();
    REQUIRE(b.size() == 1);
    auto rec = *b.begin();
    CHECK(rec.size() == sizeof(bpfco_seq_event));
    CHECK(rec.as<bpfco_seq_event>() != nullptr);
    CHECK(rec.as<std::uint64_t>() == nullptr);
    struct bigger { bpfco_seq_event e; std::uint64_t x; };
    CHECK(rec.as<bigger>() == nullptr);

    auto wrong = bpfco::ring_buffer::create(ctx.get_executor(), p.obj.map("drops").value());
    REQUIRE(wrong.has_error());
    MESSAGE(wrong.error().message);
    CHECK(wrong.error().message.find("drops") != std::string::npos);
    CHECK(wrong.error().message.find("ringbuf") != std::string::npos);
}

TEST_CASE("max_records splits batches; a batch commits only when released") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value(), {.max_records = 7});
    p.run("ring_test_run", 20);
    const auto full = rb.available_bytes();
    {
        auto b = rb.try_receive().value();
        CHECK(b.size() == 7);
        CHECK(rb.available_bytes() == full);  // not released yet
    }
    CHECK(rb.available_bytes() == full - 7 * ring_records::record_span(sizeof(bpfco_seq_event)));
    std::vector<std::size_t> sizes;
    auto reader = [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 2; ++i) sizes.push_back((co_await rb.async_receive(asio::use_awaitable)).size());
    };
    asio::co_spawn(ctx, reader(), asio::detached);
    CHECK(run_bounded(ctx));
    CHECK(sizes == std::vector<std::size_t>{7, 6});
}

TEST_CASE("small ring, slow consumer: produced == received + dropped, exactly") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load(4096);  // 56 records of 64 bytes
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    std::uint64_t produced = 0, received = 0, last_seq = 0;
    bool in_order = true;
    for (int round = 0; round < 50; ++round) {
        p.run("ring_test_run", 40 + round);  // more than fits, some rounds
        produced += 40 + round;
        auto b = rb.try_receive().value();
        for (const auto& rec : b) {
            auto seq = rec.as<bpfco_seq_event>()->seq;
            in_order = in_order && (received == 0 || seq > last_seq);
            last_seq = seq;
            ++received;
        }
    }
    const auto dropped = p.drops();
    MESSAGE("produced ", produced, " received ", received, " dropped ", dropped);
    CHECK(dropped > 0);
    CHECK(in_order);
    CHECK(produced == received + dropped);
    CHECK(p.ring_seq.load() == produced);
}

TEST_CASE("edge-triggered wake-up regression: a 50,000-event flood with the consumer running") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    // 4 MiB holds the whole flood (72 bytes a record, 3.6 MB): a consumer descheduled by a loaded machine
    // (or slowed by TSan) falls behind without dropping, so only a lost wake-up can fail this.
    auto p = producers::load(1 << 22);
    auto link = p.obj.program("ring_getppid").value().attach().value();
    constexpr std::size_t n = 50000;
    std::atomic<std::size_t> got{0};
    std::atomic<bool> in_order{true};
    {
        asio::io_context ctx;
        bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());  // no poll interval: wake-ups only
        auto task = [&]() -> asio::awaitable<void> {
            std::uint64_t next = 0;
            while (got < n) {
                auto b = co_await rb.async_receive(asio::use_awaitable);
                for (const auto& rec : b) {
                    if (rec.as<bpfco_seq_event>()->seq != next++) in_order = false;
                    ++got;
                }
            }
        };
        asio::co_spawn(ctx, task(), asio::detached);
        std::thread consumer([&] { ctx.run_for(30s); });
        // Bursts with pauses, so that the consumer often catches up and sleeps between them.
        for (std::size_t i = 0; i < n; ++i) {
            ::syscall(SYS_getppid);
            if (i % 97 == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
        consumer.join();
    }
    CHECK(got == n);
    CHECK(in_order);
    CHECK(p.drops() == 0);
}

TEST_CASE("BPF_RB_NO_WAKEUP records are delivered by the poll interval and by flush()") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto p = producers::load();
    p.ring_flags.store(BPF_RB_NO_WAKEUP).value();
    asio::io_context ctx;
    {
        bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value(), {.poll_interval = 20ms});
        std::size_t got = 0;
        auto task = [&]() -> asio::awaitable<void> {
            auto b0 = co_await rb.async_receive(asio::use_awaitable);  // nothing yet: pending
            got += b0.size();
        };
        asio::co_spawn(ctx, task(), asio::detached);
        ctx.poll();
        p.run("ring_test_run", 3);  // no wake-up reaches the reactor
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(run_bounded(ctx, 5s));
        CHECK(got == 3);
        CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    }
    {
        bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());  // no poll interval
        std::size_t got = 0;
        rb.async_receive([&](boost::system::error_code ec, ring_batch b) {
            CHECK(!ec);
            got = b.size();
        });
        ctx.poll();
        p.run("ring_test_run", 2);
        ctx.run_for(100ms);
        CHECK(got == 0);  // held back, as the producer asked
        rb.flush();
        CHECK(run_bounded(ctx));
        CHECK(got == 2);
    }
}

TEST_CASE("records read as a type of the wrong size are each counted in type_mismatches()") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load(1 << 20);
    bpfco::ring_buffer rb(ctx, p.obj.map("ring").value());  // the ExecutionContext& constructor
    struct one_field_more {
        bpfco_seq_event e;
        std::uint64_t extra;
    };
    constexpr std::uint32_t n = 1000;
    p.run("ring_test_run", n);
    std::uint32_t read = 0, viewed = 0;
    while (read < n) {
        auto b = rb.try_receive().value();
        for (const auto& rec : b) {
            ++read;
            viewed += rec.as<one_field_more>() != nullptr;
        }
    }
    CHECK(viewed == 0);
    CHECK(rb.type_mismatches() == n);
    // The right type is not counted.
    p.run("ring_test_run", 10);
    auto right = rb.try_receive().value();
    for (const auto& rec : right) CHECK(rec.as<bpfco_seq_event>());
    CHECK(rb.type_mismatches() == n);
}
