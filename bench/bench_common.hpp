// Shared by the stream benchmarks: the producers object, CPU pinning, clocks, and output lines
// `RESULT <name> <value> <unit>` / `RATIO <name> <value>`.
#pragma once

#include <bpfco/bpfco.hpp>
#include <bpfco/stream_events.h>

#include "bench_syscalls.bpf.skel.h"
#include "stream_producers.bpf.skel.h"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

struct producers {
    bpfco::object obj;
    bpfco::map ring, perf;  // their fds for the raw libbpf readers

    explicit producers(std::uint32_t ring_bytes) {
        std::size_t n = 0;
        const void* elf = stream_producers_bpf__elf_bytes(&n);
        obj = bpfco::object::open_memory("stream_producers", {static_cast<const std::byte*>(elf), n}).value();
        obj.set_max_entries("ring", ring_bytes).value();
        obj.global<std::uint32_t>("filter_pid").value().set(static_cast<std::uint32_t>(::getpid())).value();
        obj.load().value();
        ring = obj.map("ring").value();
        perf = obj.map("perf").value();
    }

    void run(const char* prog, std::uint32_t repeat) const {
        static const std::byte packet[64] = {};
        bpfco::test_run_options o;
        o.data_in = packet;
        o.repeat = repeat;
        bpfco::test_run(obj.program(prog).value(), o).value();
    }
    std::uint64_t drops() const { return bpfco::read_drop_counter(obj.map("drops").value()).value(); }
};

inline void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
}

inline double now_s() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
inline std::uint64_t now_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}
inline double thread_cpu_s() {
    timespec ts;
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
inline double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

inline void result(const char* name, double value, const char* unit) {
    std::printf("RESULT %s %.4g %s\n", name, value, unit);
    std::fflush(stdout);
}
inline void ratio(const char* name, double value) {
    std::printf("RATIO %s %.3f\n", name, value);
    std::fflush(stdout);
}

inline int online_cpus() { return static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)); }

/// Counts the syscalls one thread enters, with a BPF program on the raw syscall tracepoint
/// (bpf/bench_syscalls.bpf.c): the benches measure bpfco and libbpf consumers the same way.
class syscall_counter {
public:
    syscall_counter() {
        std::size_t n = 0;
        const void* elf = bench_syscalls_bpf__elf_bytes(&n);
        obj_ = bpfco::object::open_memory("bench_syscalls", {static_cast<const std::byte*>(elf), n}).value();
        obj_.load().value();
        link_ = obj_.program("count_thread_syscalls").value().attach().value();
    }
    /// Counts from zero the syscalls of thread `tid` (0: none).
    void watch(std::uint32_t tid) const {
        const std::uint32_t zero = 0;
        const std::uint64_t none = 0;
        obj_.map("syscalls").value().insert_bytes(&zero, &none, bpfco::update_flags::any).value();
        obj_.map("target").value().insert_bytes(&zero, &tid, bpfco::update_flags::any).value();
    }
    std::uint64_t count() const {
        const std::uint32_t zero = 0;
        std::uint64_t n = 0;
        obj_.map("syscalls").value().lookup_bytes(&zero, &n).value();
        return n;
    }

private:
    bpfco::object obj_;
    bpfco::link link_;
};

struct consumer_rate {
    double events_per_s = 0, cpu_ns_per_event = 0, syscalls_per_wakeup = 0, syscalls_per_1k_events = 0;
};

/// One concurrent round, the same for every consumer: `consume()` runs on a thread pinned to
/// CPU 0 until the producer is done and a 100 ms wait finds nothing, and returns its wake-ups
/// (receives or polls that delivered records: a wake-up here is a delivery), while `produce()` runs on this thread. The clock
/// and CPU-clock reads are the same two on both sides, outside the loop; the consumer thread's
/// syscalls are counted from its first wait to its last. `received` is read at the end.
template <class Consume, class Produce>
consumer_rate consume_while_producing(const syscall_counter& sys, Consume consume, Produce produce,
                                      const std::uint64_t& received) {
    consumer_rate r;
    std::atomic<std::uint32_t> tid{0};
    std::atomic<bool> go{false};
    std::uint64_t wakeups = 0;
    std::thread consumer([&] {
        pin(0);
        tid = static_cast<std::uint32_t>(::gettid());
        while (!go) std::this_thread::yield();
        const double c0 = thread_cpu_s(), t0 = now_s();
        wakeups = consume();
        const double t1 = now_s(), c1 = thread_cpu_s();
        r.events_per_s = received / (t1 - t0);
        r.cpu_ns_per_event = (c1 - c0) * 1e9 / received;
    });
    while (tid == 0) std::this_thread::yield();
    sys.watch(tid);
    go = true;
    produce();
    consumer.join();
    const std::uint64_t calls = sys.count();
    sys.watch(0);
    r.syscalls_per_wakeup = wakeups ? double(calls) / double(wakeups) : 0;
    r.syscalls_per_1k_events = received ? double(calls) * 1000 / double(received) : 0;
    return r;
}

/// A libbpf reader's consume(): `poll()` (ring_buffer__poll or perf_buffer__poll with a 100 ms
/// timeout) until the producer is done and a poll finds nothing.
template <class Poll>
auto poll_loop(Poll poll, const std::atomic<bool>& done) {
    return [poll, &done] {
        std::uint64_t wakeups = 0;
        for (;;) {
            const int n = poll();
            if (n > 0) ++wakeups;
            else if (done) return wakeups;
        }
    };
}

/// A bpfco stream's consume(): co_await receives until the producer is done and a receive
/// raced against a 100 ms timer finds nothing (as libbpf's poll timeout above).
template <class Stream, class Take>
auto receive_loop(boost::asio::io_context& ctx, Stream& stream, Take take, const std::atomic<bool>& done) {
    return [&ctx, &stream, take, &done] {
        using namespace boost::asio::experimental::awaitable_operators;
        namespace asio = boost::asio;
        std::uint64_t wakeups = 0;
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            for (;;) {
                if (!done) {
                    take(co_await stream.async_receive(asio::use_awaitable));
                    ++wakeups;
                    continue;
                }
                asio::steady_timer t(ctx, std::chrono::milliseconds(100));
                auto v = co_await (stream.async_receive(asio::use_awaitable) || t.async_wait(asio::use_awaitable));
                if (v.index() == 1) break;
                take(std::get<0>(v));
                ++wakeups;
            }
        }, asio::detached);
        ctx.run();
        return wakeups;
    };
}

/// Runs `pass()` (an untimed fill, then a timed drain returning {records, seconds}) until the
/// timed drains add up to at least 100 ms, or `max_passes` passes where filling is too slow for
/// that (`timed_s` says how long the drains took); returns records per second over them.
template <class Pass>
double drain_rate(Pass pass, int max_passes = 1000, double* timed_s = nullptr) {
    pass();  // one pass untimed: the first drain of a run was slower (not explained yet)
    std::uint64_t n = 0;
    double s = 0;
    for (int i = 0; i < max_passes && s < 0.1; ++i) {
        const auto [records, seconds] = pass();
        n += records;
        s += seconds;
    }
    if (timed_s) *timed_s = s;
    return double(n) / s;
}

}  // namespace bench
