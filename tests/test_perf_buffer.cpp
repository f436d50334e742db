// What is particular to perf_buffer: samples from every CPU carrying it, lost records counted
// exactly, records wrapping the ring end, wakeup_events. The contract every stream keeps
// (tokens, cancellation, close) is checked in test_stream_contract.cpp.
#include "stream_fixture.hpp"

#include <map>

using namespace bpfco;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using bpfco::testing::producers;
using bpfco::testing::on_cpu;
using bpfco::testing::run_bounded;

namespace {
struct tally {
    std::vector<bpfco_seq_event> samples;
    std::vector<std::uint32_t> sample_cpus;
    std::uint64_t lost = 0;
    std::size_t items() const { return samples.size() + (lost ? 1 : 0); }
};

void add(tally& t, const perf_batch& b) {
    for (const auto& rec : b) {
        if (rec.is_lost()) {
            t.lost += rec.lost_count();
            continue;
        }
        auto e = rec.as<bpfco_seq_event>();
        REQUIRE(e);
        t.samples.push_back(*e);
        t.sample_cpus.push_back(rec.cpu());
    }
}

asio::awaitable<void> collect(bpfco::perf_buffer& pb, std::size_t samples, tally& t) {
    while (t.samples.size() < samples) add(t, co_await pb.async_receive(asio::use_awaitable));
}

}  // namespace

TEST_CASE("perf: N getppid calls give exactly N samples with our pid and sequence numbers") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    auto link = p.obj.program("perf_getppid").value().attach().value();
    bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value());
    constexpr std::size_t n = 500;
    testing::getppid_n(n);
    tally t;
    asio::co_spawn(ctx, collect(pb, n, t), asio::detached);
    CHECK(run_bounded(ctx));
    REQUIRE(t.samples.size() == n);
    // One ring per CPU: order holds within a CPU; together the sequence numbers are 0..n-1.
    std::vector<bool> seen(n);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(t.samples[i].pid == static_cast<std::uint32_t>(::getpid()));
        CHECK(t.samples[i].cpu == t.sample_cpus[i]);
        REQUIRE(t.samples[i].seq < n);
        seen[t.samples[i].seq] = true;
    }
    CHECK(std::count(seen.begin(), seen.end(), true) == static_cast<long>(n));
    CHECK(t.lost == 0);
    CHECK(pb.lost() == 0);
}

TEST_CASE("perf: records from every CPU carry that CPU") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value());
    const auto cpus = pb.cpus();
    MESSAGE(cpus.size(), " CPU rings of ", pb.ring_size(), " bytes");
    REQUIRE(!cpus.empty());
    constexpr std::uint32_t per_cpu = 200;
    for (auto cpu : cpus) on_cpu(cpu, [&] { p.run("perf_test_run", per_cpu); });
    tally t;
    asio::co_spawn(ctx, collect(pb, per_cpu * cpus.size(), t), asio::detached);
    CHECK(run_bounded(ctx));
    std::map<std::uint32_t, std::uint32_t> per;
    for (std::size_t i = 0; i < t.samples.size(); ++i) {
        CHECK(t.samples[i].cpu == t.sample_cpus[i]);
        ++per[t.sample_cpus[i]];
    }
    for (auto cpu : cpus) CHECK(per[cpu] == per_cpu);
}

TEST_CASE("perf: an overrun produces lost items whose counts add up") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value(), {.page_count = 1});
    const auto cpu = pb.cpus().front();
    constexpr std::uint32_t burst = 1000;  // a 4 KiB ring holds about 50 samples of 80 bytes
    tally t;
    on_cpu(cpu, [&] { p.run("perf_test_run", burst); });
    add(t, pb.try_receive().value());
    // The kernel writes the LOST record at the next output that finds room.
    on_cpu(cpu, [&] { p.run("perf_test_run", 1); });
    add(t, pb.try_receive().value());
    const std::uint64_t produced = p.perf_seq.load();
    MESSAGE("produced ", produced, " received ", t.samples.size(), " lost ", t.lost);
    CHECK(produced == burst + 1);
    CHECK(t.lost > 0);
    CHECK(produced == t.samples.size() + t.lost);
    CHECK(pb.lost() == t.lost);
    CHECK(pb.lost(cpu) == t.lost);
}

TEST_CASE("perf: a record wrapping the ring end is delivered whole") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value(), {.page_count = 1});
    const auto cpu = pb.cpus().front();
    std::uint64_t next = 0;
    bool ok = true;
    // 80-byte records in a 4096-byte ring: the end is crossed mid-record every few rounds.
    for (int round = 0; round < 40; ++round) {
        on_cpu(cpu, [&] { p.run("perf_test_run", 7); });
        auto b = pb.try_receive().value();
        for (const auto& rec : b) ok = ok && rec.as<bpfco_seq_event>() && rec.as<bpfco_seq_event>()->seq == next++;
    }
    CHECK(ok);
    CHECK(next == 280);
    CHECK(pb.lost() == 0);
}

TEST_CASE("perf: wakeup_events holds samples back until flush()") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value(), {.wakeup_events = 1000});
    std::size_t got = 0;
    pb.async_receive([&](boost::system::error_code ec, perf_batch b) {
        CHECK(!ec);
        got = b.size();
    });
    ctx.poll();
    p.run("perf_test_run", 5);
    ctx.run_for(100ms);
    CHECK(got == 0);
    pb.flush();
    CHECK(run_bounded(ctx));
    CHECK(got == 5);
}

TEST_CASE("perf: samples read as a type of the wrong size are each counted in type_mismatches()") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    bpfco::perf_buffer pb(ctx, p.obj.map("perf").value());  // the ExecutionContext& constructor
    const auto cpu = pb.cpus().front();
    struct one_field_more {
        bpfco_seq_event e;
        std::uint64_t extra;
    };
    constexpr std::size_t n = 500;
    on_cpu(cpu, [&] { p.run("perf_test_run", n); });
    std::size_t read = 0, copied = 0;
    while (read < n) {
        auto b = pb.try_receive().value();
        for (const auto& rec : b) {
            REQUIRE(!rec.is_lost());
            ++read;
            copied += rec.as<one_field_more>().has_value();
        }
    }
    CHECK(copied == 0);
    CHECK(pb.type_mismatches() == n);
    // The right type, and lost items, are not counted.
    on_cpu(cpu, [&] { p.run("perf_test_run", 10); });
    auto right = pb.try_receive().value();
    for (const auto& rec : right) CHECK(rec.as<bpfco_seq_event>());
    CHECK(pb.type_mismatches() == n);
}

TEST_CASE("perf: a stream that has run dry waits without running a handler") {
    // Regression: the last look before a sleep once took the empty batch that found the ring
    // dry for records, and the stream went round the scheduler for ever instead of sleeping.
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    asio::io_context ctx;
    auto p = producers::load();
    auto link = p.obj.program("perf_getppid").value().attach().value();
    bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value());
    testing::getppid_n(1);
    tally t;
    // Receives on after the sample, so its next receive finds the ring dry and waits.
    asio::co_spawn(ctx, collect(pb, 2, t), asio::detached);
    for (int i = 0; i < 1000 && t.samples.empty(); ++i) ctx.poll_one();
    REQUIRE(t.samples.size() == 1);
    int handlers = 0;
    while (handlers < 1000 && ctx.poll_one() != 0) ++handlers;
    CHECK(handlers < 1000);
    CHECK(ctx.poll_one() == 0);
    pb.close();
    ctx.run();
}
