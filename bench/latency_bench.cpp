// Wake-up latency: one tracepoint event at a time (getppid), kernel timestamp (bpf_ktime_get_ns,
// CLOCK_MONOTONIC) against CLOCK_MONOTONIC when the consumer resumes. bpfco co_await against
// libbpf ring_buffer__poll. Consumer pinned to CPU 0, producer to CPU 1 (cross-CPU wake-up).
#include "bench_common.hpp"

#include <boost/asio.hpp>

#include <atomic>
#include <thread>

namespace asio = boost::asio;
using bench::producers;

namespace {
constexpr int samples = 2000;

std::vector<double> latencies;
std::atomic<int> seen{0};

int on_libbpf(void*, void* data, std::size_t) {
    const std::uint64_t t = bench::now_ns();
    latencies.push_back(double(t - static_cast<const bpfco_seq_event*>(data)->ktime_ns) / 1e3);
    seen.fetch_add(1, std::memory_order_release);
    return 0;
}

// The producer waits for each event to be seen before making the next, with a short gap.
void produce(int cpu) {
    bench::pin(cpu);
    for (int i = 0; i < samples; ++i) {
        ::syscall(SYS_getppid);
        while (seen.load(std::memory_order_acquire) <= i) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

std::vector<double> run_libbpf(producers& p, int consumer_cpu, int producer_cpu) {
    latencies.clear();
    seen = 0;
    ::ring_buffer* rb = ring_buffer__new(p.ring.fd(), on_libbpf, nullptr, nullptr);
    std::thread consumer([&] {
        bench::pin(consumer_cpu);
        while (seen < samples) ring_buffer__poll(rb, 100);
    });
    produce(producer_cpu);
    consumer.join();
    ring_buffer__free(rb);
    return latencies;
}

std::vector<double> run_bpfco(producers& p, int consumer_cpu, int producer_cpu) {
    latencies.clear();
    seen = 0;
    asio::io_context ctx;
    bpfco::ring_buffer rb(ctx.get_executor(), p.obj.map("ring").value());
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        while (seen < samples) {
            auto b = co_await rb.async_receive(asio::use_awaitable);
            const std::uint64_t t = bench::now_ns();
            for (const auto& rec : b) {
                latencies.push_back(double(t - rec.as<bpfco_seq_event>()->ktime_ns) / 1e3);
                seen.fetch_add(1, std::memory_order_release);
            }
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
}  // namespace

int main() {
    producers p(1 << 20);
    auto link = p.obj.program("ring_getppid").value().attach().value();
    const int other = 1 % bench::online_cpus();
    std::printf("wake-up latency: %d events one at a time; consumer CPU 0, producer CPU %d\n", samples, other);
    std::vector<double> lib, co;
    for (int r = 0; r < 2; ++r) {  // alternate, so drift in the machine's load hits both
        auto l = run_libbpf(p, 0, other);
        auto c = run_bpfco(p, 0, other);
        lib.insert(lib.end(), l.begin(), l.end());
        co.insert(co.end(), c.begin(), c.end());
    }
    bench::result("wakeup_libbpf_p50", bench::percentile(lib, 0.5), "us");
    bench::result("wakeup_libbpf_p99", bench::percentile(lib, 0.99), "us");
    bench::result("wakeup_bpfco_p50", bench::percentile(co, 0.5), "us");
    bench::result("wakeup_bpfco_p99", bench::percentile(co, 0.99), "us");
    bench::ratio("wakeup_latency_p50", bench::percentile(lib, 0.5) / bench::percentile(co, 0.5));
    bench::ratio("wakeup_latency_p99", bench::percentile(lib, 0.99) / bench::percentile(co, 0.99));
}
