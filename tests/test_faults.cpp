// Faults a library inside someone else's server must survive: a consumer that stalls while the
// producer floods, an io_context stopped and destroyed with receives pending, an object closed
// under its links and streams, a pinned map shared with another process. What the kernel did is
// asserted (sequence numbers, drop counters, object ids), and under ASan (.ci/sanitize) nothing
// may be read after it is freed or leak.
#include "stream_fixture.hpp"

#include "maps_test.bpf.skel.h"

#include <bpfco/streams/map_watch.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <thread>

using namespace bpfco;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using bpfco::testing::producers;
using bpfco::testing::on_cpu;
using bpfco::testing::run_bounded;

namespace {

// How much RSS may grow while millions of records pass through: the readers allocate nothing per
// record, so without sanitizers it is a few KiB (a settled heap page or two). Under ASan/TSan the
// runtimes' own bookkeeping (ASan's quarantine of freed blocks, TSan's shadow of each new
// allocation) grows with every coroutine frame and batch vector, per round, not per record.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr long rss_slack_kib = 8192;
#else
constexpr long rss_slack_kib = 1024;
#endif

long rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

std::string unique_pin(const char* what) {
    return fmt::format("/sys/fs/bpf/bpfco-test-{}-{}", what, ::getpid());
}

unsigned file_mode(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

}  // namespace

TEST_SUITE("kernel") {

TEST_CASE("stalled ring consumer under a flood: memory stays bounded, produced == received + dropped") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load(16384);  // 227 records of 64 bytes
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    std::uint64_t received = 0;
    // Settle allocations (first batch, first coroutine frame) before measuring.
    p.run("ring_test_run", 10);
    received += rb.try_receive().value().size();
    const long rss_before = rss_kib();
    long rss_max = rss_before;
    for (int round = 0; round < 20; ++round) {
        // The consumer does not read at all while 100,000 records are offered.
        for (int burst = 0; burst < 10; ++burst) p.run("ring_test_run", 10000);
        rss_max = std::max(rss_max, rss_kib());
        // Then it catches up in one receive: at most a ring's worth is there.
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            auto b = co_await rb.async_receive(asio::use_awaitable);
            CHECK(b.bytes() <= rb.capacity());
            received += b.size();
        }, asio::detached);
        CHECK(run_bounded(ctx));
    }
    const std::uint64_t produced = p.ring_seq.load(), dropped = p.drops();
    MESSAGE("produced ", produced, " received ", received, " dropped ", dropped, "; RSS ", rss_before, " -> max ",
            rss_max, " KiB");
    CHECK(produced == 10 + 20 * 100000);
    CHECK(dropped > 0);
    CHECK(produced == received + dropped);
    CHECK(rb.available_bytes() == 0);
    // The reader allocates nothing per record: 2,000,000 records offered, a few KiB at most.
    CHECK(rss_max - rss_before < rss_slack_kib);
}

TEST_CASE("stalled perf consumer under a flood: lost counts are exact, memory stays bounded") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value(), {.page_count = 2});
    const auto cpu = pb.cpus().front();
    std::uint64_t samples = 0, lost = 0;
    auto drain = [&] {
        auto b = pb.try_receive().value();
        for (const auto& rec : b) {
            if (rec.is_lost())
                lost += rec.lost_count();
            else
                samples += rec.as<bpfco_seq_event>().has_value();
        }
    };
    on_cpu(cpu, [&] { p.run("perf_test_run", 10); });
    drain();
    const long rss_before = rss_kib();
    long rss_max = rss_before;
    for (int round = 0; round < 10; ++round) {
        on_cpu(cpu, [&] { p.run("perf_test_run", 20000); });
        rss_max = std::max(rss_max, rss_kib());
        drain();
        // The kernel writes its LOST record at the next output that finds room.
        on_cpu(cpu, [&] { p.run("perf_test_run", 1); });
        drain();
    }
    const std::uint64_t produced = p.perf_seq.load();
    MESSAGE("produced ", produced, " samples ", samples, " lost ", lost, "; RSS ", rss_before, " -> max ", rss_max,
            " KiB");
    CHECK(produced == 10 + 10 * 20001);
    CHECK(lost > 0);
    CHECK(produced == samples + lost);
    CHECK(pb.lost() == lost);
    CHECK(rss_max - rss_before < rss_slack_kib);
}

TEST_CASE("io_context stopped and destroyed with receives pending: no leak, nothing runs after") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto p = producers::load();
    const auto before = testing::own_ids();
    int finished = 0;
    SUBCASE("ring_buffer owned by the waiting coroutine") {
        {
            asio::io_context ctx;
            asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
                bpfco::ring_buffer rb(co_await asio::this_coro::executor, p.obj.map("ring").value());
                (void)co_await rb.async_receive(asio::use_awaitable);
                ++finished;
            }, asio::detached);
            ctx.run_for(50ms);
            ctx.stop();
        }  // destroyed with the receive pending: the coroutine frame, and the stream with it, go
    }
    SUBCASE("perf_buffer owned by the waiting coroutine") {
        {
            asio::io_context ctx;
            asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
                bpfco::perf_buffer pb(co_await asio::this_coro::executor, p.obj.map("perf").value(), {.page_count = 1});
                (void)co_await pb.async_receive(asio::use_awaitable);
                ++finished;
            }, asio::detached);
            ctx.run_for(50ms);
            ctx.stop();
        }
    }
    SUBCASE("map_watch owned by the waiting coroutine") {
        {
            asio::io_context ctx;
            asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
                auto m = hash_map<std::uint32_t, std::uint64_t>::make(
                             map::create(bpfco::map_type::hash, "watched", 4, 8, 4).value()).value();
                map_watch watch(co_await asio::this_coro::executor, std::move(m), 10s);
                (void)co_await watch.async_receive(asio::use_awaitable);  // the baseline, at once
                (void)co_await watch.async_receive(asio::use_awaitable);  // 10 s away
                ++finished;
            }, asio::detached);
            ctx.run_for(50ms);
            ctx.stop();
        }
    }
    SUBCASE("streams outliving the stopped loop's run, destroyed before it, callbacks pending") {
        boost::system::error_code ec_ring, ec_perf;
        {
            asio::io_context ctx;
            bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
            bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value(), {.page_count = 1});
            rb.async_receive([&](boost::system::error_code ec, ring_batch) { ec_ring = ec; ++finished; });
            pb.async_receive([&](boost::system::error_code ec, perf_batch) { ec_perf = ec; ++finished; });
            ctx.run_for(20ms);
            ctx.stop();
            // rb and pb are destroyed here, before ctx: their handlers are queued on a stopped
            // context and destroyed with it, never invoked.
        }
    }
    CHECK(finished == 0);
    // Every ring mapping and map fd the streams held is gone (the fd check runs at scope exit).
    auto left = testing::new_ids(before, testing::own_ids());
    CHECK(left.maps.empty());
}

TEST_CASE("an object closed under its links and streams: they keep working until they are closed") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto ids_before = testing::list_kernel_ids();
    testing::kernel_ids made;
    {
        auto p = producers::load();
        bpfco::link l = p.obj.program("ring_getppid").value().attach().value();
        bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
        auto drops = p.obj.map("drops").value();
        made = testing::new_ids(ids_before, testing::own_ids());
        // Close the object (and unmap its globals): the link holds the program, the stream and
        // `drops` hold their own map fds.
        p.ring_seq = p.perf_seq = p.ring_flags = {};
        p.obj = bpfco::object();
        // filter_pid was set in .bss before load and stays in the kernel's map.
        testing::getppid_n(25);
        std::size_t got = 0;
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            while (got < 25) got += (co_await rb.async_receive(asio::use_awaitable)).size();
        }, asio::detached);
        CHECK(run_bounded(ctx));
        CHECK(got == 25);
        CHECK(read_drop_counter(drops).value() == 0);
        l.detach();
        testing::getppid_n(10);
        CHECK(rb.try_receive().value().size() == 0);  // detached: nothing more arrives
    }
    // Everything is released once the last holder goes.
    auto still = testing::wait_gone(made);
    CHECK(still.progs.empty());
    CHECK(still.maps.empty());
    CHECK(still.links.empty());
}

TEST_CASE("a pinned map is shared with other processes, pinned 0600, and goes when unpinned") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    const auto path = unique_pin("shared");
    ::unlink(path.c_str());
    std::uint32_t id = 0;
    {
        auto m = hash_map<std::uint32_t, std::uint64_t>::make(
                     map::create(bpfco::map_type::hash, "shared", 4, 8, 16).value()).value();
        id = m.untyped().info().id;
        m.untyped().pin(path).value();
        CHECK(file_mode(path) == 0600);
        m.insert(1, 100).value();

        // A forked child opens the pin and writes; we see it.
        pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            auto other = map::from_pinned(path);
            if (!other) ::_exit(1);
            auto h = hash_map<std::uint32_t, std::uint64_t>::make(std::move(other).value());
            if (!h || h.value().lookup(1).value().value_or(0) != 100) ::_exit(2);
            ::_exit(h.value().insert(2, 200) ? 0 : 3);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        CHECK(m.lookup(2).value().value_or(0) == 200);

        // An exec'd program (bpftool) updates it through the pin too.
        CHECK(testing::run("bpftool map update pinned " + path + " key 3 0 0 0 value 44 1 0 0 0 0 0 0") == 0);
        CHECK(m.lookup(3).value().value_or(0) == 300);
    }
    // Our fds are closed; the pin alone keeps the map.
    CHECK(testing::output_of(fmt::format("bpftool map show id {}", id)).find("shared") != std::string::npos);
    auto reopened = map::from_pinned(path).value();
    CHECK(reopened.info().id == id);
    reopened = map();
    ::unlink(path.c_str());
    testing::kernel_ids gone;
    gone.maps.push_back(id);
    CHECK(testing::wait_gone(gone).maps.empty());
}

TEST_CASE("a pinned link is 0600, outlives its handle, and detaches when unpinned") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    const auto path = unique_pin("link");
    ::unlink(path.c_str());
    auto p = producers::load();
    std::uint32_t link_id = 0;
    {
        auto l = p.obj.program("ring_getppid").value().attach().value();
        l.pin(path).value();
        CHECK(file_mode(path) == 0600);
        auto mine = testing::new_ids({}, testing::own_ids());
        REQUIRE(mine.links.size() == 1);
        link_id = mine.links.front();
    }
    // Our handle is gone; the pin keeps the program attached.
    testing::getppid_n(5);
    CHECK(p.ring_seq.load() == 5);
    ::unlink(path.c_str());
    testing::kernel_ids gone;
    gone.links.push_back(link_id);
    CHECK(testing::wait_gone(gone).links.empty());
    testing::getppid_n(5);
    CHECK(p.ring_seq.load() == 5);
}

}  // TEST_SUITE
