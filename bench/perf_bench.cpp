// Perf buffer: (i) drain a pre-filled CPU ring alone, (ii) producer and consumer concurrently on
// different CPUs; bpfco against libbpf's perf_buffer__consume/poll in the same run. Each consumer
// is made fresh per round: the map slot belongs to whichever perf buffer opened last.
#include "bench_common.hpp"

#include <atomic>
#include <thread>

namespace asio = boost::asio;
using bench::producers;

namespace {
constexpr std::size_t pages = 4096;  // 16 MiB per CPU ring: 200k samples of 80 bytes
constexpr std::uint32_t drain_records = 150000;
constexpr int rounds = 3;
// Filling is what limits the drain's timed window: BPF_PROG_TEST_RUN with bpf_perf_event_output
// took about 27 us per sample here (against a drain of about 20 ns), so >= 100 ms of drains would
// take minutes of filling. Each side drains at most this many timed passes per round, and the
// bench prints how long its drains took.
constexpr int max_passes = 3;

struct sink {
    std::uint64_t count = 0, sum = 0, lost = 0;
};

void libbpf_sample(void* ctx, int, void* data, __u32 size) {
    auto* s = static_cast<sink*>(ctx);
    if (size >= sizeof(bpfco_seq_event)) {
        ++s->count;
        s->sum += static_cast<const bpfco_seq_event*>(data)->seq;
    }
}
void libbpf_lost(void* ctx, int, __u64 n) { static_cast<sink*>(ctx)->lost += n; }

void take(sink& s, const bpfco::perf_batch& b) {
    for (const auto& rec : b) {
        if (rec.is_lost()) {
            s.lost += rec.lost_count();
        } else if (auto e = rec.as<bpfco_seq_event>()) {
            ++s.count;
            s.sum += e->seq;
        }
    }
}

double drain_libbpf(producers& p, double& timed_s) {
    sink s;
    perf_buffer* pb = perf_buffer__new(p.perf.fd(), pages, libbpf_sample, libbpf_lost, &s, nullptr);
    const double rate = bench::drain_rate([&] {
        p.run("perf_test_run", drain_records);
        s = {};
        const double t0 = bench::now_s();
        perf_buffer__consume(pb);
        const double t1 = bench::now_s();
        return std::pair{s.count, t1 - t0};
    }, max_passes, &timed_s);
    perf_buffer__free(pb);
    return rate;
}

// The coroutine is spawned once and runs every pass: the timed windows hold only receives.
double drain_bpfco(producers& p, double& timed_s) {
    asio::io_context ctx;
    bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value(), {.page_count = pages, .per_cpu_budget = 4096});
    double rate = 0;
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        sink s;
        std::uint64_t n = 0;
        double secs = 0;
        for (int pass = -1; pass < 0 || (secs < 0.1 && pass < max_passes); ++pass) {
            p.run("perf_test_run", drain_records);
            s = {};
            const double t0 = bench::now_s();
            while (s.count + s.lost < drain_records) take(s, co_await pb.async_receive(asio::use_awaitable));
            const double t1 = bench::now_s();
            if (pass >= 0) {  // the first pass untimed, as bench::drain_rate does
                n += s.count;
                secs += t1 - t0;
            }
        }
        rate = double(n) / secs;
        timed_s = secs;
    }, asio::detached);
    ctx.run();
    return rate;
}

// With wakeup_events = 1 (both readers) every sample wakes the consumer, and this VM delivers
// about 60k samples/s that way for libbpf and bpfco alike: 200k samples per side keep a round
// under 10 s.
constexpr int producer_chunks = 20;
constexpr std::uint32_t chunk = 10000;

struct concurrent_result {
    bench::consumer_rate rate;
    std::uint64_t received = 0, lost = 0;
};

void produce(producers& p, std::atomic<bool>& done) {
    bench::pin(1 % bench::online_cpus());
    for (int i = 0; i < producer_chunks; ++i) p.run("perf_test_run", chunk);
    done = true;
    p.run("perf_test_run", 1);
}

concurrent_result concurrent_libbpf(producers& p, const bench::syscall_counter& sys) {
    sink s;
    perf_buffer* pb = perf_buffer__new(p.perf.fd(), 64, libbpf_sample, libbpf_lost, &s, nullptr);
    std::atomic<bool> done{false};
    const auto rate = bench::consume_while_producing(
        sys, bench::poll_loop([&] { return perf_buffer__poll(pb, 100); }, done), [&] { produce(p, done); }, s.count);
    perf_buffer__free(pb);
    return {rate, s.count, s.lost};
}

concurrent_result concurrent_bpfco(producers& p, const bench::syscall_counter& sys) {
    sink s;
    asio::io_context ctx;
    bpfco::perf_buffer pb(ctx.get_executor(), p.obj.map("perf").value(), {.page_count = 64});
    std::atomic<bool> done{false};
    const auto rate = bench::consume_while_producing(
        sys, bench::receive_loop(ctx, pb, [&s](const bpfco::perf_batch& b) { take(s, b); }, done),
        [&] { produce(p, done); }, s.count);
    return {rate, s.count, s.lost};
}
}  // namespace

int main() {
    producers p(4096);
    bench::pin(0);  // the drain producer fills CPU 0's ring
    std::printf("perf drain: passes of %u samples of %zu bytes on CPU 0, >= 100 ms of drains per side where filling allows, %zu pages "
                "per CPU, %d rounds (median), at most %d timed passes\n", drain_records, sizeof(bpfco_seq_event), pages, rounds, max_passes);
    std::vector<double> lib, co;
    for (int i = 0; i < rounds; ++i) {
        double lt = 0, ct = 0;
        lib.push_back(drain_libbpf(p, lt));
        co.push_back(drain_bpfco(p, ct));
        std::printf("  drains timed: libbpf %.1f ms, bpfco %.1f ms\n", lt * 1e3, ct * 1e3);
        std::fflush(stdout);
    }
    bench::result("perf_drain_libbpf", bench::median(lib) / 1e6, "M/s");
    bench::result("perf_drain_bpfco", bench::median(co) / 1e6, "M/s");
    bench::ratio("perf_buffer_drain", bench::median(co) / bench::median(lib));

    std::printf("perf concurrent: consumer on CPU 0, producer on CPU %d, 64 pages per CPU\n", 1 % bench::online_cpus());
    const bench::syscall_counter sys;
    std::vector<double> lr, cr, lc, cc, ls, cs, lk, ck;
    for (int i = 0; i < 3; ++i) {
        auto l = concurrent_libbpf(p, sys);
        auto c = concurrent_bpfco(p, sys);
        std::printf("  libbpf %.3g ev/s %.1f ns cpu/ev %.2f syscalls/wake-up recv %lu lost %lu | "
                    "bpfco %.3g ev/s %.1f ns cpu/ev %.2f syscalls/wake-up recv %lu lost %lu\n",
                    l.rate.events_per_s, l.rate.cpu_ns_per_event, l.rate.syscalls_per_wakeup, l.received, l.lost,
                    c.rate.events_per_s, c.rate.cpu_ns_per_event, c.rate.syscalls_per_wakeup, c.received, c.lost);
        lr.push_back(l.rate.events_per_s);
        cr.push_back(c.rate.events_per_s);
        lc.push_back(l.rate.cpu_ns_per_event);
        cc.push_back(c.rate.cpu_ns_per_event);
        ls.push_back(l.rate.syscalls_per_wakeup);
        cs.push_back(c.rate.syscalls_per_wakeup);
        lk.push_back(l.rate.syscalls_per_1k_events);
        ck.push_back(c.rate.syscalls_per_1k_events);
    }
    bench::result("perf_concurrent_libbpf", bench::median(lr) / 1e6, "M/s");
    bench::result("perf_concurrent_bpfco", bench::median(cr) / 1e6, "M/s");
    bench::result("perf_concurrent_libbpf_cpu_per_event", bench::median(lc), "ns");
    bench::result("perf_concurrent_bpfco_cpu_per_event", bench::median(cc), "ns");
    bench::result("perf_concurrent_libbpf_syscalls_per_wakeup", bench::median(ls), "syscalls");
    bench::result("perf_concurrent_bpfco_syscalls_per_wakeup", bench::median(cs), "syscalls");
    bench::result("perf_concurrent_libbpf_syscalls_per_1k_events", bench::median(lk), "syscalls");
    bench::result("perf_concurrent_bpfco_syscalls_per_1k_events", bench::median(ck), "syscalls");
    bench::ratio("perf_buffer_concurrent", bench::median(cr) / bench::median(lr));
    bench::ratio("perf_concurrent_cpu_per_event", bench::median(lc) / bench::median(cc));
    bench::ratio("perf_syscalls_per_wakeup", bench::median(ls) / bench::median(cs));
}
