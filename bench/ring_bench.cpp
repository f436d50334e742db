// Ring buffer: (i) drains of a pre-filled ring over a matrix of backlogs (fits L2, fits L3,
// twice the L3) by record payload (16 B, 64 B, 1 KiB, mixed), (ii) a producer paced at fixed
// rates with the consumer on another CPU. bpfco (try_receive, co_await when empty) against libbpf as shipped
// (ring_buffer__consume / __poll) and against a plain C batch reader, without and with bpfco's
// prefetch, all measured in the same run with the same settings.
//
// `ring_bench drain` or `ring_bench concurrent` runs one part only.
#include "bench_common.hpp"

#include <sys/mman.h>

#include <string>
#include <string_view>

namespace asio = boost::asio;
using bench::drained;
using bench::producers;
using bench::sink;

namespace {
constexpr int repeats = 5;
// A B B A: two windows per side per repeat, 100 ms per side.
constexpr double half_window_s = 0.05;

// The reference a careful C programmer writes: both positions read once per drain, discards
// skipped, the consumer position stored once per drain, the same sink as the others. With
// `Prefetch`, the same prefetch as bpfco's iterator: the line 2 KiB ahead, below the producer
// position only.
template <bool Prefetch>
class c_batch_reader {
public:
    c_batch_reader(int fd, std::size_t ring_bytes)
        : page_(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))), ring_bytes_(ring_bytes), mask_(ring_bytes - 1) {
        void* c = ::mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        void* p = ::mmap(nullptr, page_ + 2 * ring_bytes_, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(page_));
        if (c == MAP_FAILED || p == MAP_FAILED) throw std::runtime_error("mmap ring");
        consumer_ = static_cast<std::uint64_t*>(c);
        producer_ = static_cast<const std::uint64_t*>(p);
        data_ = static_cast<const std::byte*>(p) + page_;
    }
    ~c_batch_reader() {
        ::munmap(consumer_, page_);
        ::munmap(const_cast<std::uint64_t*>(producer_), page_ + 2 * ring_bytes_);
    }
    c_batch_reader(const c_batch_reader&) = delete;
    c_batch_reader& operator=(const c_batch_reader&) = delete;

    void drain(sink& s) {
        constexpr std::uint64_t prefetch_distance = 2048;
        std::uint64_t cons = __atomic_load_n(consumer_, __ATOMIC_RELAXED);
        const std::uint64_t prod = __atomic_load_n(producer_, __ATOMIC_ACQUIRE);
        while (cons < prod) {
            const auto* hdr = reinterpret_cast<const std::uint32_t*>(data_ + (cons & mask_));
            const std::uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
            if (len & (1u << 31)) break;  // BUSY
            const std::uint32_t size = len & ~(3u << 30);
            if (!(len & (1u << 30))) s.take(hdr + 2);  // not DISCARD
            const std::uint64_t next = cons + ((size + 8 + 7) & ~std::uint64_t(7));
            // The double mapping makes the line ahead contiguous, as in bpfco.
            if (Prefetch && prod > next && prod - next > prefetch_distance)
                __builtin_prefetch(data_ + (next & mask_) + prefetch_distance);
            cons = next;
        }
        __atomic_store_n(consumer_, cons, __ATOMIC_RELEASE);
    }

private:
    std::uint64_t* consumer_ = nullptr;
    const std::uint64_t* producer_ = nullptr;
    const std::byte* data_ = nullptr;
    std::size_t page_, ring_bytes_, mask_;
};

struct cell {
    std::string name;  // e.g. "l2,64B"
    std::uint32_t records, payload;
};

template <bool Prefetch>
drained c_reader_drain(const producers& p, std::size_t ring_bytes, const cell& c, double min_s) {
    sink s;
    c_batch_reader<Prefetch> r(p.ring.fd(), ring_bytes);
    return bench::timed_passes([&] {
        p.fill("ring_fill", c.records, c.payload);
        s = {};
        const double t0 = bench::now_s();
        r.drain(s);
        const double t1 = bench::now_s();
        bench::check_drained(Prefetch ? "prefetching C reader" : "C reader", s, c.records);
        return drained{s.count, t1 - t0};
    }, min_s);
}

// A batch's records into the sink, outside the coroutine: there GCC 12 keeps the range-for
// iterator in the coroutine frame, loading and storing it at every record.
void take_batch(sink& s, const bpfco::ring_batch& b) {
    for (const auto& rec : b) s.take(rec.data().data());
}

// The stream takes whole backlogs per batch (max_bytes 0), as libbpf and the C readers do. The
// coroutine runs every pass of the window: the timed parts hold only receives, in the loop
// docs/streams.md advises (try_receive, co_await only when it finds nothing).
drained bpfco_drain(const producers& p, const cell& c, double min_s) {
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx, p.obj.map("ring").value(), {.max_bytes = 0});
    drained d;
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        sink s;
        while (d.seconds < min_s) {
            p.fill("ring_fill", c.records, c.payload);
            s = {};
            const double t0 = bench::now_s();
            while (s.count < c.records) {
                auto b = rb.try_receive().value();
                if (b.empty()) b = co_await rb.async_receive(asio::use_awaitable);
                take_batch(s, b);
            }
            const double t1 = bench::now_s();
            bench::check_drained("bpfco", s, c.records);
            d += drained{s.count, t1 - t0};
        }
    }, asio::detached);
    ctx.run();
    return d;
}

void drain_matrix(const bench::cache_sizes& caches) {
    struct level {
        const char* name;
        std::size_t backlog;
    };
    const std::size_t l2 = caches.l2 ? caches.l2 : std::size_t(512) << 10;
    const std::size_t l3 = caches.l3 ? caches.l3 : std::size_t(32) << 20;
    const level levels[] = {{"l2", l2 / 2}, {"l3", l3 / 4}, {"2xl3", 2 * l3}};
    struct payload {
        const char* name;
        std::uint32_t bytes;   // 0: mixed
        std::uint32_t span4;   // ring bytes of four records (8-byte header each)
    };
    const payload payloads[] = {{"16B", 16, 4 * 24}, {"64B", 64, 4 * 72}, {"1KiB", 1024, 4 * 1032},
                                {"mixed", 0, 24 + 72 + 24 + 1032}};
    std::printf("ring drain: backlogs of L2/2, L3/4 and 2 x L3 in a ring twice as large, payloads 16 B, 64 B, 1 KiB "
                "and mixed (16, 64, 16, 1024 B in turn); libbpf, C reader, prefetching C reader, bpfco in the order "
                "A B C D D C B A, %.0f ms per side per repeat, %d repeats; RATIO: median of the repeats' ratios\n",
                2 * half_window_s * 1e3, repeats);
    bench::worst_cell vs_libbpf, vs_prefetch;
    for (const level& lv : levels) {
        std::uint32_t ring_bytes = 4096;
        while (ring_bytes < 2 * lv.backlog) ring_bytes *= 2;
        const producers p(ring_bytes);
        for (const payload& pl : payloads) {
            const cell c{std::string(lv.name) + "," + pl.name, static_cast<std::uint32_t>(lv.backlog * 4 / pl.span4),
                         pl.bytes};
            const double t0 = bench::now_s();
            const std::vector<std::function<drained(double)>> sides = {
                [&](double s) { return bench::libbpf_ring_drain(p, c.records, c.payload, s); },
                [&](double s) { return c_reader_drain<false>(p, ring_bytes, c, s); },
                [&](double s) { return c_reader_drain<true>(p, ring_bytes, c, s); },
                [&](double s) { return bpfco_drain(p, c, s); },
            };
            const auto rates = bench::alternate(sides, repeats, half_window_s);
            const char* names[] = {"libbpf", "c_batch_reader", "c_prefetch_reader", "bpfco"};
            for (std::size_t i = 0; i < sides.size(); ++i)
                bench::result("ring_drain_" + std::string(names[i]) + "[" + c.name + "]", bench::median(rates[i]) / 1e6,
                              "M/s");
            const auto lib = bench::spread_of(bench::ratios(rates[3], rates[0]));
            const auto plain = bench::spread_of(bench::ratios(rates[3], rates[1]));
            const auto pf = bench::spread_of(bench::ratios(rates[3], rates[2]));
            bench::ratio("ring_buffer_drain[" + c.name + "]", lib);
            bench::ratio("ring_buffer_drain_vs_batch_reader[" + c.name + "]", plain);
            bench::ratio("ring_buffer_drain_vs_prefetch_reader[" + c.name + "]", pf);
            vs_libbpf.note(c.name, lib.median);
            vs_prefetch.note(c.name, pf.median);
            std::printf("  (%s: %u records a pass, %u KiB ring, %.1f s)\n", c.name.c_str(), c.records, ring_bytes >> 10,
                        bench::now_s() - t0);
            if (const auto drops = p.drops()) std::printf("  DROPS in the fills: %lu\n", drops);
        }
    }
    vs_libbpf.print("ring_buffer_drain");
    vs_prefetch.print("ring_buffer_drain_vs_prefetch_reader");
}

// ---- Concurrent -------------------------------------------------------------------------------

constexpr std::uint32_t ring_bytes_concurrent = 1u << 22;  // 4 MiB
constexpr double round_s = 0.25;                            // a paced round's length
constexpr std::uint64_t unpaced_events = 100000;

int producer_cpu() { return 1 % bench::online_cpus(); }

bench::round_cost concurrent_libbpf(const producers& p, bench::consumer_thread& consumer, std::uint64_t total,
                                    double rate) {
    sink s;
    ::ring_buffer* rb = ring_buffer__new(p.ring.fd(), bench::libbpf_ring_sample, &s, nullptr);
    if (!rb) throw std::runtime_error("ring_buffer__new failed");
    const auto drops0 = p.drops();
    std::atomic<bool> done{false};
    auto c = bench::concurrent_round(
        consumer, bench::poll_loop([&] { return ring_buffer__poll(rb, 100); }, done), {producer_cpu()},
        [&](std::size_t) { bench::paced([&](std::uint32_t k) { p.run("ring_test_run", k); }, total, rate); }, done,
        [&] { p.run("ring_test_run", 1); });
    ring_buffer__free(rb);
    c.received = s.count;
    c.lost = p.drops() - drops0;
    return c;
}

bench::round_cost concurrent_bpfco(const producers& p, bench::consumer_thread& consumer, std::uint64_t total,
                                   double rate) {
    sink s;
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx, p.obj.map("ring").value(), {.max_bytes = 0});
    const auto drops0 = p.drops();
    std::atomic<bool> done{false};
    auto take = [&s](const bpfco::ring_batch& b) { take_batch(s, b); };
    auto c = bench::concurrent_round(
        consumer, bench::receive_loop(ctx, rb, take, done), {producer_cpu()},
        [&](std::size_t) { bench::paced([&](std::uint32_t k) { p.run("ring_test_run", k); }, total, rate); }, done,
        [&] { p.run("ring_test_run", 1); });
    c.received = s.count;
    c.lost = p.drops() - drops0;
    return c;
}

void concurrent() {
    std::printf("ring concurrent: consumer on CPU 0, producer on CPU %d paced at 20,000/s, 200,000/s and unpaced, "
                "%u KiB ring, sides A B B A, %d repeats; CPU = consumer + producer threads; syscalls: the consumer's\n",
                producer_cpu(), ring_bytes_concurrent >> 10, repeats);
    const producers p(ring_bytes_concurrent);
    const bench::syscall_counter sys;
    bench::consumer_thread libbpf_consumer(sys), bpfco_consumer(sys);
    bench::concurrent_matrix("ring", "dropped", repeats, round_s, unpaced_events,
                             [](std::uint64_t total) { return total + 1; },
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
