// Wake-up latency: one tracepoint event at a time (getppid), kernel timestamp (bpf_ktime_get_ns,
// CLOCK_MONOTONIC) against CLOCK_MONOTONIC when the consumer resumes. bpfco (try_receive,
// co_await when empty) against libbpf ring_buffer__poll. Consumer pinned to CPU 0, producer to
// CPU 1 (cross-CPU wake-up).
// Blocks of samples alternate A B B A; the ratios' 95 % intervals come from resampling whole
// blocks (samples within a block share the machine's state, so they are not independent).
#include "bench_common.hpp"

#include <boost/asio.hpp>

#include <atomic>
#include <random>
#include <thread>

namespace asio = boost::asio;
using bench::producers;

namespace {
constexpr int block_samples = 2500;
constexpr int blocks_per_side = 20;  // 50,000 samples per side
constexpr int resamples = 1000;

using block = std::vector<double>;  // latencies in us

block latencies;
std::atomic<int> seen{0};

int on_libbpf(void*, void* data, std::size_t) {
    const std::uint64_t t = bench::now_ns();
    latencies.push_back(double(t - static_cast<const bpfco_seq_event*>(data)->ktime_ns) / 1e3);
    seen.fetch_add(1, std::memory_order_release);
    return 0;
}

// Outside the coroutine, as docs/streams.md advises for per-record loops.
void on_bpfco(const bpfco::ring_batch& b) {
    const std::uint64_t t = bench::now_ns();
    for (const auto& rec : b) {
        latencies.push_back(double(t - rec.as<bpfco_seq_event>()->ktime_ns) / 1e3);
        seen.fetch_add(1, std::memory_order_release);
    }
}

// The producer waits for each event to be seen before making the next, with a short gap.
void produce(int cpu) {
    bench::pin(cpu);
    for (int i = 0; i < block_samples; ++i) {
        ::syscall(SYS_getppid);
        while (seen.load(std::memory_order_acquire) <= i) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
}

block run_libbpf(const producers& p, int consumer_cpu, int producer_cpu) {
    latencies.clear();
    seen = 0;
    ::ring_buffer* rb = ring_buffer__new(p.ring.fd(), on_libbpf, nullptr, nullptr);
    if (!rb) throw std::runtime_error("ring_buffer__new failed");
    std::thread consumer([&] {
        bench::pin(consumer_cpu);
        while (seen < block_samples) ring_buffer__poll(rb, 100);
    });
    produce(producer_cpu);
    consumer.join();
    ring_buffer__free(rb);
    return latencies;
}

block run_bpfco(const producers& p, int consumer_cpu, int producer_cpu) {
    latencies.clear();
    seen = 0;
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx, p.obj.map("ring").value());
    // The loop docs/streams.md advises: try_receive, co_await only when it finds nothing.
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        while (seen < block_samples) {
            auto b = rb.try_receive().value();
            if (b.empty()) b = co_await rb.async_receive(asio::use_awaitable);
            on_bpfco(b);
        }
    }, asio::detached);
    std::thread consumer([&] {
        bench::pin(consumer_cpu);
        ctx.run();
    });
    produce(producer_cpu);
    consumer.join();
    return latencies;
}

double quantile(std::vector<double>& v, double q) {
    const auto k = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

std::vector<double> pooled(const std::vector<block>& blocks) {
    std::vector<double> all;
    for (const auto& b : blocks) all.insert(all.end(), b.begin(), b.end());
    return all;
}

// The 2.5 % and 97.5 % points of libbpf's quantile q over bpfco's, over resamples of whole
// blocks (with replacement, each side's blocks alike).
std::pair<double, double> interval(const std::vector<block>& lib, const std::vector<block>& co, double q) {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::size_t> pick(0, lib.size() - 1);
    std::vector<double> ratios;
    std::vector<double> l, c;
    for (int i = 0; i < resamples; ++i) {
        l.clear();
        c.clear();
        for (std::size_t k = 0; k < lib.size(); ++k) {
            const auto& bl = lib[pick(rng)];
            const auto& bc = co[pick(rng)];
            l.insert(l.end(), bl.begin(), bl.end());
            c.insert(c.end(), bc.begin(), bc.end());
        }
        ratios.push_back(quantile(l, q) / quantile(c, q));
    }
    return {quantile(ratios, 0.025), quantile(ratios, 0.975)};
}
}  // namespace

int main() {
    bench::print_machine_facts();
    const producers p(1 << 20);
    auto link = p.obj.program("ring_getppid").value().attach().value();
    const int other = 1 % bench::online_cpus();
    std::printf("wake-up latency: %d blocks of %d events one at a time per side, in the order A B B A; consumer CPU 0, "
                "producer CPU %d; 95 %% intervals from %d block resamples\n",
                blocks_per_side, block_samples, other, resamples);
    std::vector<block> lib, co;
    for (int r = 0; r < blocks_per_side / 2; ++r) {
        lib.push_back(run_libbpf(p, 0, other));
        co.push_back(run_bpfco(p, 0, other));
        co.push_back(run_bpfco(p, 0, other));
        lib.push_back(run_libbpf(p, 0, other));
    }
    auto all_lib = pooled(lib), all_co = pooled(co);
    for (const auto& [name, q] : {std::pair{"p50", 0.5}, std::pair{"p99", 0.99}}) {
        const double l = quantile(all_lib, q), c = quantile(all_co, q);
        const auto [low, high] = interval(lib, co, q);
        bench::result(std::string("wakeup_libbpf_") + name, l, "us");
        bench::result(std::string("wakeup_bpfco_") + name, c, "us");
        std::printf("RATIO wakeup_latency_%s %.3f (95 %% interval %.3f %.3f)\n", name, l / c, low, high);
        bench::ratio(std::string("wakeup_latency_") + name + "_ci_high", high);
    }
}
