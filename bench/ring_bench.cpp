// Ring buffer: (i) drain a pre-filled ring alone, (ii) producer and consumer concurrently on
// different CPUs. bpfco (co_await batches, callbacks) against libbpf's ring_buffer__consume/poll
// and against a plain C batch reader, measured in the same run.
#include "bench_common.hpp"

#include <sys/mman.h>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>

namespace asio = boost::asio;
using bench::producers;

namespace {
constexpr std::uint32_t ring_bytes = 1u << 26;  // 64 MiB
std::uint32_t drain_records = 600000;  // 43 MB of 72-byte slots
int rounds = 3;

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

// The reference a careful C programmer writes: both positions read once, discards skipped, the
// consumer position stored once per drain, the same size check and sink as the others.
struct c_batch_reader {
    std::uint64_t* consumer = nullptr;
    const std::uint64_t* producer = nullptr;
    const std::byte* data = nullptr;
    std::size_t page = 0, mask = 0;

    explicit c_batch_reader(int fd) : page(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))), mask(ring_bytes - 1) {
        void* c = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        void* p = ::mmap(nullptr, page + 2 * std::size_t(ring_bytes), PROT_READ, MAP_SHARED, fd, static_cast<off_t>(page));
        if (c == MAP_FAILED || p == MAP_FAILED) throw std::runtime_error("mmap ring");
        consumer = static_cast<std::uint64_t*>(c);
        producer = static_cast<const std::uint64_t*>(p);
        data = static_cast<const std::byte*>(p) + page;
    }
    ~c_batch_reader() {
        ::munmap(consumer, page);
        ::munmap(const_cast<std::uint64_t*>(producer), page + 2 * std::size_t(ring_bytes));
    }
    c_batch_reader(const c_batch_reader&) = delete;
    c_batch_reader& operator=(const c_batch_reader&) = delete;

    void drain(sink& s) {
        std::uint64_t cons = __atomic_load_n(consumer, __ATOMIC_RELAXED);
        const std::uint64_t prod = __atomic_load_n(producer, __ATOMIC_ACQUIRE);
        while (cons < prod) {
            const auto* hdr = reinterpret_cast<const std::uint32_t*>(data + (cons & mask));
            const std::uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
            if (len & (1u << 31)) break;  // BUSY
            const std::uint32_t size = len & ~(3u << 30);
            if (!(len & (1u << 30)) && size == sizeof(bpfco_seq_event))  // not DISCARD
                s.take(*reinterpret_cast<const bpfco_seq_event*>(hdr + 2));
            cons += (size + 8 + 7) & ~std::uint64_t(7);
        }
        __atomic_store_n(consumer, cons, __ATOMIC_RELEASE);
    }
};

struct timed {
    std::uint64_t records;
    double seconds;
};

// One drain pass of a reader: fill (untimed), then time `drain()` (returns the records seen).
template <class Drain>
timed fill_and_drain(producers& p, Drain&& drain) {
    p.run("ring_test_run", drain_records);
    const double t0 = bench::now_s();
    const std::uint64_t n = drain();
    const double t1 = bench::now_s();
    if (n != drain_records) std::printf("drained %lu of %u\n", n, drain_records);
    return {n, t1 - t0};
}

double drain_libbpf(producers& p) {
    sink s;
    ::ring_buffer* rb = ring_buffer__new(p.ring.fd(), libbpf_sample, &s, nullptr);
    const double rate = bench::drain_rate([&] {
        return fill_and_drain(p, [&] {
            s = {};
            ring_buffer__consume(rb);
            return s.count;
        });
    });
    ring_buffer__free(rb);
    return rate;
}

double drain_c_reader(producers& p) {
    sink s;
    c_batch_reader r(p.ring.fd());
    return bench::drain_rate([&] {
        return fill_and_drain(p, [&] {
            s = {};
            r.drain(s);
            return s.count;
        });
    });
}

// The coroutine is spawned once and runs every pass: the timed windows hold only receives.
double drain_bpfco_await(producers& p) {
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    double rate = 0;
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        sink s;
        std::uint64_t n = 0;
        double secs = 0;
        for (int pass = -1; pass < 0 || secs < 0.1; ++pass) {
            p.run("ring_test_run", drain_records);
            s = {};
            const double t0 = bench::now_s();
            while (s.count < drain_records)
                for (const auto& rec : co_await rb.async_receive(asio::use_awaitable))
                    if (auto* e = rec.as<bpfco_seq_event>()) s.take(*e);
            const double t1 = bench::now_s();
            if (pass >= 0) {  // the first pass untimed, as bench::drain_rate does
                n += s.count;
                secs += t1 - t0;
            }
        }
        rate = double(n) / secs;
    }, asio::detached);
    ctx.run();
    return rate;
}

double drain_bpfco_callback(producers& p) {
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    // A plain callback that re-arms itself: what a user without coroutines writes. It starts the
    // next pass itself when one ends, so no co_spawn or run() lies inside a timed window.
    struct state {
        producers* p;
        bpfco::ring_buffer* rb;
        sink s;
        int pass = -1;
        std::uint64_t n = 0;
        double secs = 0, t0 = 0;
        void start_pass() {
            p->run("ring_test_run", drain_records);
            s = {};
            t0 = bench::now_s();
        }
    } st{&p, &rb, {}};
    struct on_batch {
        state* st;
        void operator()(boost::system::error_code ec, bpfco::ring_batch b) const {
            if (ec) return;
            for (const auto& rec : b)
                if (auto* e = rec.as<bpfco_seq_event>()) st->s.take(*e);
            b.release();
            if (st->s.count >= drain_records) {
                const double t1 = bench::now_s();
                if (st->pass++ >= 0) {
                    st->n += st->s.count;
                    st->secs += t1 - st->t0;
                }
                if (st->secs >= 0.1) return;
                st->start_pass();
            }
            st->rb->async_receive(*this);
        }
    };
    st.start_pass();
    rb.async_receive(on_batch{&st});
    ctx.run();
    return double(st.n) / st.secs;
}

struct concurrent_result {
    bench::consumer_rate rate;
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

concurrent_result concurrent_libbpf(producers& p, const bench::syscall_counter& sys) {
    sink s;
    ::ring_buffer* rb = ring_buffer__new(p.ring.fd(), libbpf_sample, &s, nullptr);
    const auto drops0 = p.drops();
    std::atomic<bool> done{false};
    const auto rate = bench::consume_while_producing(
        sys, bench::poll_loop([&] { return ring_buffer__poll(rb, 100); }, done), [&] { produce(p, done); }, s.count);
    ring_buffer__free(rb);
    return {rate, s.count, p.drops() - drops0};
}

concurrent_result concurrent_bpfco(producers& p, const bench::syscall_counter& sys) {
    sink s;
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    const auto drops0 = p.drops();
    std::atomic<bool> done{false};
    auto take = [&s](const bpfco::ring_batch& b) {
        for (const auto& rec : b)
            if (auto* e = rec.as<bpfco_seq_event>()) s.take(*e);
    };
    const auto rate = bench::consume_while_producing(sys, bench::receive_loop(ctx, rb, take, done),
                                                     [&] { produce(p, done); }, s.count);
    return {rate, s.count, p.drops() - drops0};
}
}  // namespace

// `ring_bench drain N`: only the drain, N records per pass, one round (for callgrind); no
// argument: all.
int main(int argc, char** argv) {
    const bool drain_only = argc == 3 && std::string_view(argv[1]) == "drain";
    if (drain_only) {
        drain_records = static_cast<std::uint32_t>(std::stoul(argv[2]));
        rounds = 1;
    }
    producers p(ring_bytes);
    std::printf("ring drain: passes of %u records of %zu bytes, >= 100 ms of drains per side, %d rounds (median); "
                "concurrent: consumer on CPU 0, producer on CPU %d\n",
                drain_records, sizeof(bpfco_seq_event), rounds, 1 % bench::online_cpus());
    std::vector<double> lib, cr, aw, cb;
    for (int i = 0; i < rounds; ++i) {
        lib.push_back(drain_libbpf(p));
        cr.push_back(drain_c_reader(p));
        aw.push_back(drain_bpfco_await(p));
        cb.push_back(drain_bpfco_callback(p));
    }
    bench::result("ring_drain_libbpf", bench::median(lib) / 1e6, "M/s");
    bench::result("ring_drain_c_batch_reader", bench::median(cr) / 1e6, "M/s");
    bench::result("ring_drain_bpfco_await", bench::median(aw) / 1e6, "M/s");
    bench::result("ring_drain_bpfco_callback", bench::median(cb) / 1e6, "M/s");
    bench::ratio("ring_buffer_drain", bench::median(aw) / bench::median(lib));
    bench::ratio("ring_buffer_drain_callback", bench::median(cb) / bench::median(lib));
    bench::ratio("ring_buffer_drain_vs_batch_reader", bench::median(aw) / bench::median(cr));
    if (drain_only) return 0;

    const bench::syscall_counter sys;
    std::vector<double> lib_rate, co_rate, lib_cpu, co_cpu, lib_sys, co_sys, lib_k, co_k;
    for (int i = 0; i < 3; ++i) {
        auto l = concurrent_libbpf(p, sys);
        auto c = concurrent_bpfco(p, sys);
        std::printf("  libbpf %.3g ev/s %.1f ns cpu/ev %.2f syscalls/wake-up recv %lu drop %lu | "
                    "bpfco %.3g ev/s %.1f ns cpu/ev %.2f syscalls/wake-up recv %lu drop %lu\n",
                    l.rate.events_per_s, l.rate.cpu_ns_per_event, l.rate.syscalls_per_wakeup, l.received, l.dropped,
                    c.rate.events_per_s, c.rate.cpu_ns_per_event, c.rate.syscalls_per_wakeup, c.received, c.dropped);
        if (l.received + l.dropped != producer_chunks * chunk + 1 || c.received + c.dropped != producer_chunks * chunk + 1)
            std::printf("  MISMATCH: produced %u\n", producer_chunks * chunk + 1);
        lib_rate.push_back(l.rate.events_per_s);
        co_rate.push_back(c.rate.events_per_s);
        lib_cpu.push_back(l.rate.cpu_ns_per_event);
        co_cpu.push_back(c.rate.cpu_ns_per_event);
        lib_sys.push_back(l.rate.syscalls_per_wakeup);
        co_sys.push_back(c.rate.syscalls_per_wakeup);
        lib_k.push_back(l.rate.syscalls_per_1k_events);
        co_k.push_back(c.rate.syscalls_per_1k_events);
    }
    bench::result("ring_concurrent_libbpf", bench::median(lib_rate) / 1e6, "M/s");
    bench::result("ring_concurrent_bpfco", bench::median(co_rate) / 1e6, "M/s");
    bench::result("ring_concurrent_libbpf_cpu_per_event", bench::median(lib_cpu), "ns");
    bench::result("ring_concurrent_bpfco_cpu_per_event", bench::median(co_cpu), "ns");
    bench::result("ring_concurrent_libbpf_syscalls_per_wakeup", bench::median(lib_sys), "syscalls");
    bench::result("ring_concurrent_bpfco_syscalls_per_wakeup", bench::median(co_sys), "syscalls");
    bench::result("ring_concurrent_libbpf_syscalls_per_1k_events", bench::median(lib_k), "syscalls");
    bench::result("ring_concurrent_bpfco_syscalls_per_1k_events", bench::median(co_k), "syscalls");
    bench::ratio("ring_buffer_concurrent", bench::median(co_rate) / bench::median(lib_rate));
    bench::ratio("ring_concurrent_cpu_per_event", bench::median(lib_cpu) / bench::median(co_cpu));
    bench::ratio("ring_syscalls_per_wakeup", bench::median(lib_sys) / bench::median(co_sys));
}
