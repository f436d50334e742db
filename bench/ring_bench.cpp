// Ring buffer: (i) drain a pre-filled ring alone, (ii) producer and consumer concurrently on
// different CPUs. bpfco (co_await batches, callbacks) against libbpf's ring_buffer__consume/poll,
// measured in the same run.
#include "bench_common.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using bench::producers;

namespace {
constexpr std::uint32_t ring_bytes = 1u << 26;  // 64 MiB
std::uint32_t drain_records = 600000;  // 43 MB of 72-byte slots
int rounds = 5;

struct sink {
    std::uint64_t count = 0, sum = 0;
    void take(const bpfco_seq_event& e) {
        ++count;
        sum += e.seq;
    }
};

int libbpf_sample(void* ctx, void* data, std::size_t size) {
    if (size == sizeof(bpfco_seq_event)) static_cast<sink*>(ctx)->take(*static_cast<const bpfco_seq_event*>(data));
    return 0;
}

// A reader's first pass over a fresh mapping takes a page fault per 4 KiB page, which costs as
// much as reading the records; a long-running reader pays that once. Two untimed passes (86 MB,
// more than the 64 MiB ring) touch every page, so the timed third pass measures the consumer.
// `drain` consumes what the ring holds and returns how many records it saw.
template <class Drain>
double steady_drain_rate(producers& p, Drain&& drain) {
    double rate = 0;
    for (int pass = 0; pass < 3; ++pass) {
        p.run("ring_test_run", drain_records);
        const double t0 = bench::now_s();
        const std::uint64_t n = drain();
        const double t1 = bench::now_s();
        if (n != drain_records) std::printf("drained %lu of %u\n", n, drain_records);
        rate = n / (t1 - t0);
    }
    return rate;
}

double drain_libbpf(producers& p) {
    sink s;
    ::ring_buffer* rb = ring_buffer__new(p.map_fd("ring"), libbpf_sample, &s, nullptr);
    const double rate = steady_drain_rate(p, [&] {
        s = {};
        ring_buffer__consume(rb);
        return s.count;
    });
    ring_buffer__free(rb);
    return rate;
}

double drain_bpfco_await(producers& p) {
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    sink s;
    return steady_drain_rate(p, [&] {
        s = {};
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            while (s.count < drain_records)
                for (const auto& rec : co_await rb.async_receive(asio::use_awaitable))
                    if (auto* e = rec.as<bpfco_seq_event>()) s.take(*e);
        }, asio::detached);
        ctx.restart();
        ctx.run();
        return s.count;
    });
}

double drain_bpfco_callback(producers& p) {
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    sink s;
    // A plain callback that re-arms itself: what a user without coroutines writes.
    struct on_batch {
        bpfco::ring_buffer* rb;
        sink* s;
        void operator()(boost::system::error_code ec, bpfco::ring_batch b) const {
            if (ec) return;
            for (const auto& rec : b)
                if (auto* e = rec.as<bpfco_seq_event>()) s->take(*e);
            b.release();
            if (s->count < drain_records) rb->async_receive(*this);
        }
    };
    return steady_drain_rate(p, [&] {
        s = {};
        rb.async_receive(on_batch{&rb, &s});
        ctx.restart();
        ctx.run();
        return s.count;
    });
}

struct concurrent_result {
    double events_per_s = 0, cpu_ns_per_event = 0;
    std::uint64_t received = 0, dropped = 0;
};

constexpr int producer_chunks = 300;
constexpr std::uint32_t chunk = 10000;

// The producer (CPU 1) runs test_run in chunks and sets `done`, then emits one more record so a
// consumer blocked on a wake-up sees the end.
void produce(producers& p, std::atomic<bool>& done) {
    bench::pin(1 % bench::online_cpus());
    for (int i = 0; i < producer_chunks; ++i) p.run("ring_test_run", chunk);
    done = true;
    p.run("ring_test_run", 1);
}

concurrent_result concurrent_libbpf(producers& p) {
    sink s;
    ::ring_buffer* rb = ring_buffer__new(p.map_fd("ring"), libbpf_sample, &s, nullptr);
    const auto drops0 = p.drops();
    std::atomic<bool> done{false};
    const auto rate = bench::poll_while_producing([&] { return ring_buffer__poll(rb, 100); },
                                                  [&] { produce(p, done); }, done, s.count);
    ring_buffer__free(rb);
    return {rate.events_per_s, rate.cpu_ns_per_event, s.count, p.drops() - drops0};
}

concurrent_result concurrent_bpfco(producers& p) {
    sink s;
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    const auto drops0 = p.drops();
    std::atomic<bool> done{false};
    concurrent_result r;
    std::thread consumer([&] {
        bench::pin(0);
        const double c0 = bench::thread_cpu_s(), t0 = bench::now_s();
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            for (;;) {
                if (!done) {
                    for (const auto& rec : co_await rb.async_receive(asio::use_awaitable)) s.take(*rec.as<bpfco_seq_event>());
                    continue;
                }
                // The end: what is left, then a quiet 100 ms (as libbpf's poll timeout above).
                asio::steady_timer t(ctx, std::chrono::milliseconds(100));
                auto v = co_await (rb.async_receive(asio::use_awaitable) || t.async_wait(asio::use_awaitable));
                if (v.index() == 1) break;
                for (const auto& rec : std::get<0>(v)) s.take(*rec.as<bpfco_seq_event>());
            }
        }, asio::detached);
        ctx.run();
        r.events_per_s = s.count / (bench::now_s() - t0);
        r.cpu_ns_per_event = (bench::thread_cpu_s() - c0) * 1e9 / s.count;
    });
    produce(p, done);
    consumer.join();
    r.received = s.count;
    r.dropped = p.drops() - drops0;
    return r;
}
}  // namespace

// `ring_bench drain N`: only the drain, N records, one round (for callgrind); no argument: all.
int main(int argc, char** argv) {
    const bool drain_only = argc == 3 && std::string_view(argv[1]) == "drain";
    if (drain_only) {
        drain_records = static_cast<std::uint32_t>(std::stoul(argv[2]));
        rounds = 1;
    }
    producers p(ring_bytes);
    std::printf("ring drain: %u records of %zu bytes, %d rounds (median); concurrent: consumer on CPU 0, "
                "producer on CPU %d\n", drain_records, sizeof(bpfco_seq_event), rounds, 1 % bench::online_cpus());
    std::vector<double> lib, aw, cb;
    for (int i = 0; i < rounds; ++i) {
        lib.push_back(drain_libbpf(p));
        aw.push_back(drain_bpfco_await(p));
        cb.push_back(drain_bpfco_callback(p));
    }
    bench::result("ring_drain_libbpf", bench::median(lib) / 1e6, "M/s");
    bench::result("ring_drain_bpfco_await", bench::median(aw) / 1e6, "M/s");
    bench::result("ring_drain_bpfco_callback", bench::median(cb) / 1e6, "M/s");
    bench::ratio("ring_buffer_drain", bench::median(aw) / bench::median(lib));
    bench::ratio("ring_buffer_drain_callback", bench::median(cb) / bench::median(lib));
    if (drain_only) return 0;

    std::vector<double> lib_rate, co_rate;
    for (int i = 0; i < 3; ++i) {
        auto l = concurrent_libbpf(p);
        auto c = concurrent_bpfco(p);
        std::printf("  libbpf %.3g ev/s %.1f ns cpu/ev recv %lu drop %lu | bpfco %.3g ev/s %.1f ns cpu/ev recv %lu drop %lu\n",
                    l.events_per_s, l.cpu_ns_per_event, l.received, l.dropped, c.events_per_s, c.cpu_ns_per_event,
                    c.received, c.dropped);
        if (l.received + l.dropped != producer_chunks * chunk + 1 || c.received + c.dropped != producer_chunks * chunk + 1)
            std::printf("  MISMATCH: produced %u\n", producer_chunks * chunk + 1);
        lib_rate.push_back(l.events_per_s);
        co_rate.push_back(c.events_per_s);
        if (i == 2) {
            bench::result("ring_concurrent_libbpf_cpu_per_event", l.cpu_ns_per_event, "ns");
            bench::result("ring_concurrent_bpfco_cpu_per_event", c.cpu_ns_per_event, "ns");
            bench::result("ring_concurrent_libbpf_drops", double(l.dropped), "events");
            bench::result("ring_concurrent_bpfco_drops", double(c.dropped), "events");
        }
    }
    bench::result("ring_concurrent_libbpf", bench::median(lib_rate) / 1e6, "M/s");
    bench::result("ring_concurrent_bpfco", bench::median(co_rate) / 1e6, "M/s");
    bench::ratio("ring_buffer_concurrent", bench::median(co_rate) / bench::median(lib_rate));
}
