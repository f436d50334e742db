// Perf buffer: (i) drains of a pre-filled CPU ring at two backlogs (fits L2, fits L3), (ii)
// producers on two CPUs paced at fixed rates with the consumer on CPU 0. bpfco (try_receive,
// co_await when empty) against libbpf as shipped (perf_buffer__consume / __poll) in the same
// run, with the same ring sizes, wake-up setting and no per-ring budget on either side. Each reader is made
// fresh per window: the map's slots belong to whichever perf buffer opened last.
//
// `perf_bench drain` or `perf_bench concurrent` runs one part only.
#include "bench_common.hpp"

#include <linux/perf_event.h>

#include <string>
#include <string_view>

namespace asio = boost::asio;
using bench::drained;
using bench::producers;

namespace {
constexpr int repeats = 5;
constexpr double half_window_s = 0.05;  // A B B A: 100 ms per side per repeat
constexpr std::size_t page_size = 4096;
constexpr std::size_t sample_span = 80;  // header, raw size and a 64-byte bpfco_seq_event

struct perf_sink {
    bench::sink s;
    std::uint64_t lost = 0;
};

void libbpf_sample(void* ctx, int, void* data, __u32) { static_cast<perf_sink*>(ctx)->s.take(data); }
void libbpf_lost(void* ctx, int, __u64 n) { static_cast<perf_sink*>(ctx)->lost += n; }

void take(perf_sink& s, const bpfco::perf_batch& b) {
    for (const auto& rec : b) {
        if (rec.is_lost())
            s.lost += rec.lost_count();
        else
            s.s.take(rec.data().data());
    }
}

// bpfco's per-ring budget at least what a ring holds: libbpf takes everything, so both do.
bpfco::perf_buffer_options bpfco_options(std::size_t pages) {
    return {.page_count = pages, .per_cpu_budget = pages * page_size / 8};
}

::perf_buffer* libbpf_open(const producers& p, std::size_t pages, perf_sink& s) {
    ::perf_buffer* pb = perf_buffer__new(p.perf.fd(), pages, libbpf_sample, libbpf_lost, &s, nullptr);
    if (!pb) throw std::runtime_error("perf_buffer__new failed");
    return pb;
}

// A wake-up per sample costs the fill an interrupt each (tens of microseconds in a VM), which
// would make 100 ms of drains take minutes of filling; the drains read without waiting, so both
// sides are woken once per pass instead. libbpf 1.1's perf_buffer__new fixes wakeup_events at 1,
// its raw constructor takes the attributes: its callback decodes what perf_buffer__new's does.
std::uint32_t drain_wakeup_events(std::uint32_t records) { return records + 1; }

bpf_perf_event_ret libbpf_raw_event(void* ctx, int, perf_event_header* e) {
    auto* s = static_cast<perf_sink*>(ctx);
    if (e->type == PERF_RECORD_SAMPLE) {
        s->s.take(reinterpret_cast<const std::byte*>(e) + sizeof(perf_event_header) + sizeof(std::uint32_t));
    } else if (e->type == PERF_RECORD_LOST) {
        std::uint64_t lost;
        std::memcpy(&lost, reinterpret_cast<const std::byte*>(e) + sizeof(perf_event_header) + sizeof(std::uint64_t),
                    sizeof lost);
        s->lost += lost;
    }
    return LIBBPF_PERF_EVENT_CONT;
}

drained drain_libbpf(const producers& p, std::size_t pages, std::uint32_t records, double min_s) {
    perf_sink s;
    perf_event_attr attr{};
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_BPF_OUTPUT;
    attr.sample_type = PERF_SAMPLE_RAW;
    attr.sample_period = 1;
    attr.wakeup_events = drain_wakeup_events(records);
    ::perf_buffer* pb = perf_buffer__new_raw(p.perf.fd(), pages, &attr, libbpf_raw_event, &s, nullptr);
    if (!pb) throw std::runtime_error("perf_buffer__new_raw failed");
    const drained d = bench::timed_passes([&] {
        p.fill("perf_fill", records);
        s = {};
        const double t0 = bench::now_s();
        perf_buffer__consume(pb);
        const double t1 = bench::now_s();
        bench::check_drained("libbpf", s.s, records);
        return drained{s.s.count, t1 - t0};
    }, min_s);
    perf_buffer__free(pb);
    return d;
}

// The coroutine runs every pass of the window: the timed parts hold only receives, in the loop
// docs/streams.md advises (try_receive, co_await only when it finds nothing).
drained drain_bpfco(const producers& p, std::size_t pages, std::uint32_t records, double min_s) {
    asio::io_context ctx;
    auto options = bpfco_options(pages);
    options.wakeup_events = drain_wakeup_events(records);
    bpfco::perf_buffer pb(ctx, p.obj.map("perf").value(), options);
    drained d;
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        perf_sink s;
        while (d.seconds < min_s) {
            p.fill("perf_fill", records);
            s = {};
            const double t0 = bench::now_s();
            while (s.s.count + s.lost < records) {
                auto b = pb.try_receive().value();
                if (b.empty()) b = co_await pb.async_receive(asio::use_awaitable);
                take(s, b);
            }
            const double t1 = bench::now_s();
            bench::check_drained("bpfco", s.s, records);
            d += drained{s.s.count, t1 - t0};
        }
    }, asio::detached);
    ctx.run();
    return d;
}

void drain_matrix(const bench::cache_sizes& caches) {
    const std::size_t l2 = caches.l2 ? caches.l2 : std::size_t(512) << 10;
    const std::size_t l3 = caches.l3 ? caches.l3 : std::size_t(32) << 20;
    struct level {
        const char* name;
        std::size_t backlog;
    };
    const level levels[] = {{"l2", l2 / 2}, {"l3", l3 / 4}};
    std::printf("perf drain: backlogs of L2/2 and L3/4 of 64-byte samples on CPU 0 in a ring twice as large, "
                "a wake-up per pass, libbpf and bpfco in the order A B B A, %.0f ms per side per repeat, %d repeats; RATIO: median of "
                "the repeats' ratios\n", 2 * half_window_s * 1e3, repeats);
    bench::pin(0);  // the fills write CPU 0's ring
    const producers p(4096);
    bench::worst_cell worst;
    for (const level& lv : levels) {
        std::size_t pages = 1;
        while (pages * page_size < 2 * lv.backlog) pages *= 2;
        const auto records = static_cast<std::uint32_t>(lv.backlog / sample_span);
        const double t0 = bench::now_s();
        const auto rates = bench::alternate({[&](double s) { return drain_libbpf(p, pages, records, s); },
                                             [&](double s) { return drain_bpfco(p, pages, records, s); }},
                                            repeats, half_window_s);
        const std::string cell = lv.name;
        bench::result("perf_drain_libbpf[" + cell + "]", bench::median(rates[0]) / 1e6, "M/s");
        bench::result("perf_drain_bpfco[" + cell + "]", bench::median(rates[1]) / 1e6, "M/s");
        const auto r = bench::spread_of(bench::ratios(rates[1], rates[0]));
        bench::ratio("perf_buffer_drain[" + cell + "]", r);
        worst.note(cell, r.median);
        std::printf("  (%s: %u samples a pass, %zu pages per CPU, %.1f s)\n", lv.name, records, pages,
                    bench::now_s() - t0);
    }
    worst.print("perf_buffer_drain");
}

// ---- Concurrent -------------------------------------------------------------------------------

constexpr std::size_t pages_concurrent = 64;
constexpr double round_s = 0.25;  // a paced round's length
constexpr std::uint64_t unpaced_events = 100000;

std::vector<int> producer_cpus() { return {0, 1 % bench::online_cpus()}; }

// Each of the producers emits half of `total` at half of `rate`.
template <class Consume>
bench::round_cost round(const producers& p, bench::consumer_thread& consumer, Consume consume,
                        std::atomic<bool>& done, std::uint64_t total, double rate) {
    const auto cpus = producer_cpus();
    return bench::concurrent_round(
        consumer, consume, cpus,
        [&](std::size_t) {
            bench::paced([&](std::uint32_t k) { p.run("perf_test_run", k); }, total / cpus.size(),
                         rate / static_cast<double>(cpus.size()));
        },
        done, [&] { p.run("perf_test_run", 1); });
}

bench::round_cost concurrent_libbpf(const producers& p, bench::consumer_thread& consumer, std::uint64_t total,
                                    double rate) {
    perf_sink s;
    ::perf_buffer* pb = libbpf_open(p, pages_concurrent, s);
    std::atomic<bool> done{false};
    auto c = round(p, consumer, bench::poll_loop([&] { return perf_buffer__poll(pb, 100); }, done), done, total, rate);
    perf_buffer__free(pb);
    c.received = s.s.count;
    c.lost = s.lost;
    return c;
}

bench::round_cost concurrent_bpfco(const producers& p, bench::consumer_thread& consumer, std::uint64_t total,
                                   double rate) {
    perf_sink s;
    asio::io_context ctx;
    bpfco::perf_buffer pb(ctx, p.obj.map("perf").value(), bpfco_options(pages_concurrent));
    std::atomic<bool> done{false};
    auto take_all = [&s](const bpfco::perf_batch& b) { take(s, b); };
    auto c = round(p, consumer, bench::receive_loop(ctx, pb, take_all, done), done, total, rate);
    c.received = s.s.count;
    c.lost = s.lost;
    return c;
}

void concurrent() {
    const auto cpus = producer_cpus();
    std::printf("perf concurrent: consumer on CPU 0, producers on CPUs %d and %d paced at 20,000/s, 200,000/s (in "
                "all) and unpaced, %zu pages per CPU, sides A B B A, %d repeats; CPU = consumer + producer threads; "
                "syscalls: the consumer's\n", cpus[0], cpus[1], pages_concurrent, repeats);
    const producers p(4096);
    const bench::syscall_counter sys;
    bench::consumer_thread libbpf_consumer(sys), bpfco_consumer(sys);
    bench::concurrent_matrix("perf", "lost", repeats, round_s, unpaced_events,
                             [&](std::uint64_t total) { return total / cpus.size() * cpus.size() + 1; },
                             [&](int side, std::uint64_t total, double rate) {
                                 return side == 0 ? concurrent_libbpf(p, libbpf_consumer, total, rate)
                                                  : concurrent_bpfco(p, bpfco_consumer, total, rate);
                             });
}
}  // namespace

int main(int argc, char** argv) {
    const std::string_view part = argc > 1 ? argv[1] : "";
    const auto caches = bench::print_machine_facts();
    if (part.empty() || part == "drain") drain_matrix(caches);
    if (part.empty() || part == "concurrent") concurrent();
}
