// Shared by the stream benchmarks: the producers object and its fills, CPU pinning, clocks,
// the machine facts every bench prints, the A B B A alternation, and output lines
// `RESULT <name> <value> <unit>` / `RATIO <name> <value> [(min .. max ..)]`.
#pragma once

#include <bpfco/bpfco.hpp>
#include <bpfco/stream_events.h>

#include "bench_syscalls.bpf.skel.h"
#include "stream_producers.bpf.skel.h"

#include <boost/asio.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace bench {

struct producers {
    bpfco::object obj;
    bpfco::map ring, perf;  // their fds for the raw libbpf readers
    bpfco::global<std::uint32_t> fill_count, fill_payload;

    explicit producers(std::uint32_t ring_bytes) {
        std::size_t n = 0;
        const void* elf = stream_producers_bpf__elf_bytes(&n);
        obj = bpfco::object::open_memory("stream_producers", {static_cast<const std::byte*>(elf), n}).value();
        obj.set_max_entries("ring", ring_bytes).value();
        obj.global<std::uint32_t>("filter_pid").value().set(static_cast<std::uint32_t>(::getpid())).value();
        obj.load().value();
        ring = obj.map("ring").value();
        perf = obj.map("perf").value();
        fill_count = obj.global<std::uint32_t>("fill_count").value();
        fill_payload = obj.global<std::uint32_t>("fill_payload").value();
    }

    void run(const char* prog, std::uint32_t repeat) const {
        static const std::byte packet[64] = {};
        bpfco::test_run_options o;
        o.data_in = packet;
        o.repeat = repeat;
        bpfco::test_run(obj.program(prog).value(), o).value();
    }
    /// `count` records in one run of `prog` (ring_fill or perf_fill), through bpf_loop, of
    /// `payload` bytes (ring_fill: 16, 64, 1024, or 0 for mixed); on this thread's CPU.
    void fill(const char* prog, std::uint32_t count, std::uint32_t payload = 64) const {
        constexpr std::uint32_t bpf_loop_max = 1u << 23;
        if (count > bpf_loop_max) throw std::runtime_error("fill: more records than one bpf_loop runs");
        fill_count.set(count).value();
        fill_payload.set(payload).value();
        run(prog, 1);
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

inline void result(const std::string& name, double value, const char* unit) {
    std::printf("RESULT %s %.4g %s\n", name.c_str(), value, unit);
    std::fflush(stdout);
}
inline void ratio(const std::string& name, double value) {
    std::printf("RATIO %s %.3f\n", name.c_str(), value);
    std::fflush(stdout);
}

/// The median of per-repeat ratios with their range.
struct spread {
    double median = 0, min = 0, max = 0;
};
inline spread spread_of(const std::vector<double>& v) {
    return {median(v), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}
inline void ratio(const std::string& name, const spread& s) {
    std::printf("RATIO %s %.3f (min %.3f max %.3f)\n", name.c_str(), s.median, s.min, s.max);
    std::fflush(stdout);
}

/// The worst of a matrix's cells, printed as `RATIO <name>_min <value> (<cell>)`.
class worst_cell {
public:
    void note(const std::string& cell, double value) {
        if (cell_.empty() || value < value_) {
            cell_ = cell;
            value_ = value;
        }
    }
    void print(const std::string& name) const {
        std::printf("RATIO %s_min %.3f (%s)\n", name.c_str(), value_, cell_.c_str());
        std::fflush(stdout);
    }

private:
    std::string cell_;
    double value_ = 0;
};

inline int online_cpus() { return static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)); }

// ---- Machine facts --------------------------------------------------------------------------

struct cache_sizes {
    std::size_t l2 = 0, l3 = 0;  // bytes; 0 where sysfs does not say
};

/// CPU 0's unified L2 and L3 sizes, from /sys/devices/system/cpu/cpu0/cache/index*/.
inline cache_sizes read_cache_sizes() {
    cache_sizes c;
    for (int i = 0; i < 8; ++i) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
        std::ifstream level_f(dir + "level"), type_f(dir + "type"), size_f(dir + "size");
        int level = 0;
        std::string type, size;
        if (!(level_f >> level) || !(type_f >> type) || !(size_f >> size) || type == "Instruction") continue;
        std::size_t bytes = std::stoul(size);
        if (size.back() == 'K') bytes <<= 10;
        if (size.back() == 'M') bytes <<= 20;
        if (level == 2) c.l2 = bytes;
        if (level == 3) c.l3 = bytes;
    }
    return c;
}

inline std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

// ---- Ring drains: the same sink and the same settings for every reader ----------------------

/// Counts the records and sums each one's first u64 (its index): the same work per record for
/// every reader, whatever the payload.
struct sink {
    std::uint64_t count = 0, sum = 0;
    void take(const void* data) {
        std::uint64_t seq;
        std::memcpy(&seq, data, sizeof seq);
        ++count;
        sum += seq;
    }
};

inline int libbpf_ring_sample(void* ctx, void* data, std::size_t) {
    static_cast<sink*>(ctx)->take(data);
    return 0;
}

/// Timed drains of one side: records and seconds.
struct drained {
    std::uint64_t records = 0;
    double seconds = 0;
    drained& operator+=(const drained& o) {
        records += o.records;
        seconds += o.seconds;
        return *this;
    }
    double rate() const { return seconds > 0 ? double(records) / seconds : 0; }
};

/// Fill-then-drain passes until the drains add up to `min_s`: `pass()` fills (untimed) and
/// returns its timed drain.
template <class Pass>
drained timed_passes(Pass pass, double min_s) {
    drained d;
    while (d.seconds < min_s) d += pass();
    return d;
}

/// The check every drain makes: a pass that drained other than it filled (records 0 to
/// filled - 1, by the index each starts with) is reported. Reading the sum also keeps every side
/// loading each record: a sink whose sum nobody read let the compiler drop the C readers' loads.
inline void check_drained(const char* who, const sink& s, std::uint64_t filled) {
    if (s.count != filled)
        std::printf("  %s drained %lu of %lu records\n", who, s.count, filled);
    else if (s.sum != filled * (filled - 1) / 2)
        std::printf("  %s drained %lu records, not the %lu filled\n", who, s.count, filled);
}

/// libbpf's ring drain as shipped (ring_buffer__consume) over passes of `records` records of
/// `payload` bytes, for `min_s` of timed drains.
inline drained libbpf_ring_drain(const producers& p, std::uint32_t records, std::uint32_t payload, double min_s) {
    sink s;
    ::ring_buffer* rb = ring_buffer__new(p.ring.fd(), libbpf_ring_sample, &s, nullptr);
    if (!rb) throw std::runtime_error("ring_buffer__new failed");
    const drained d = timed_passes([&] {
        p.fill("ring_fill", records, payload);
        s = {};
        const double t0 = now_s();
        ring_buffer__consume(rb);
        const double t1 = now_s();
        check_drained("libbpf", s, records);
        return drained{s.count, t1 - t0};
    }, min_s);
    ring_buffer__free(rb);
    return d;
}

/// The CPU time this machine charges a thread per wake-up: a bare pipe reader pinned to CPU 0,
/// woken `wakes` times by a writer on another CPU every `gap_us`. On the VMs of our kind it is
/// several times larger after milliseconds asleep than after 0.1 ms, and at low event rates it
/// is most of a consumer's CPU (docs/performance.md).
inline double wake_charge_us(int gap_us, int wakes) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    std::thread writer([&] {
        pin(1 % online_cpus());
        const char c = 0;
        for (int i = 0; i < wakes; ++i) {
            std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
            if (::write(fds[1], &c, 1) != 1) break;
        }
    });
    pin(0);
    char c;
    const double c0 = thread_cpu_s();
    for (int i = 0; i < wakes; ++i)
        if (::read(fds[0], &c, 1) != 1) break;
    const double cpu = thread_cpu_s() - c0;
    writer.join();
    ::close(fds[0]);
    ::close(fds[1]);
    return cpu * 1e6 / wakes;
}

/// Prints what the figures depend on: CPU, caches, kernel, libbpf, the speed mark (libbpf's
/// ring drain of 64-byte records from a backlog of a quarter of the L3, 100 ms, CPU 0) and the
/// wake-up charge.
inline cache_sizes print_machine_facts() {
    const cache_sizes c = read_cache_sizes();
    utsname u{};
    ::uname(&u);
    std::printf("MACHINE cpu \"%s\" (%d online), L2 %zu KiB, L3 %zu KiB, kernel %s, libbpf %s\n", cpu_model().c_str(),
                online_cpus(), c.l2 >> 10, c.l3 >> 10, u.release, libbpf_version_string());
    const std::size_t backlog = c.l3 ? c.l3 / 4 : std::size_t(8) << 20;
    std::uint32_t ring_bytes = 4096;
    while (ring_bytes < 2 * backlog) ring_bytes *= 2;
    const producers p(ring_bytes);
    pin(0);
    const auto records = static_cast<std::uint32_t>(backlog / (sizeof(bpfco_seq_event) + 8));
    libbpf_ring_drain(p, records, 64, 0.02);  // warm-up
    result("machine_libbpf_ring_drain", libbpf_ring_drain(p, records, 64, 0.1).rate() / 1e6, "M/s");
    std::printf("MACHINE wake-up charge: %.1f us CPU per wake-up after 4 ms asleep, %.1f after 0.1 ms (a pipe reader)\n",
                wake_charge_us(4000, 100), wake_charge_us(100, 100));
    return c;
}

// ---- A B B A ---------------------------------------------------------------------------------

/// Measures `sides` (each runs a window of at least the seconds it is given and returns its
/// drains) `repeats` times, in the order 0 1 .. n-1 n-1 .. 1 0 within a repeat, each window
/// at least `half_s`: drift in the machine's load falls on every side alike. Returns each side's
/// rate per repeat.
inline std::vector<std::vector<double>> alternate(const std::vector<std::function<drained(double)>>& sides,
                                                  int repeats, double half_s) {
    std::vector<std::vector<double>> rates(sides.size());
    for (int r = 0; r < repeats; ++r) {
        std::vector<drained> d(sides.size());
        for (std::size_t i = 0; i < sides.size(); ++i) d[i] += sides[i](half_s);
        for (std::size_t i = sides.size(); i-- > 0;) d[i] += sides[i](half_s);
        for (std::size_t i = 0; i < sides.size(); ++i) rates[i].push_back(d[i].rate());
    }
    return rates;
}

/// Element-wise a[i] / b[i].
inline std::vector<double> ratios(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> r;
    for (std::size_t i = 0; i < a.size(); ++i) r.push_back(b[i] > 0 ? a[i] / b[i] : 0);
    return r;
}

// ---- Concurrent rounds -----------------------------------------------------------------------

/// Syscall counts of one thread by syscall number; `zero_timeout` marks an epoll_wait or
/// epoll_pwait with a zero timeout (a look, not a sleep).
struct syscall_mix {
    static constexpr std::uint32_t zero_timeout = 1u << 31;
    std::map<std::uint32_t, std::uint64_t> calls;
    std::uint64_t total() const {
        std::uint64_t n = 0;
        for (const auto& [nr, c] : calls) n += c;
        return n;
    }
    syscall_mix& operator+=(const syscall_mix& o) {
        for (const auto& [nr, c] : o.calls) calls[nr] += c;
        return *this;
    }
    /// "epoll_wait 120.3, epoll_wait(0) 4.1, ...": per 1,000 of `events`, most first.
    std::string per_1k(std::uint64_t events) const {
        std::vector<std::pair<std::uint64_t, std::uint32_t>> by;
        for (const auto& [nr, c] : calls) by.emplace_back(c, nr);
        std::sort(by.rbegin(), by.rend());
        std::string out;
        for (const auto& [c, nr] : by) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s%s %.2f", out.empty() ? "" : ", ", name(nr).c_str(),
                          events ? double(c) * 1000 / double(events) : 0.0);
            out += buf;
        }
        return out.empty() ? "none" : out;
    }

private:
    static std::string name(std::uint32_t nr) {
        const bool zero = nr & zero_timeout;
        nr &= ~zero_timeout;
        static const std::map<std::uint32_t, const char*> names = {
            {SYS_read, "read"}, {SYS_write, "write"}, {SYS_poll, "poll"}, {SYS_ioctl, "ioctl"},
            {SYS_futex, "futex"}, {SYS_epoll_wait, "epoll_wait"}, {SYS_epoll_ctl, "epoll_ctl"},
            {SYS_epoll_pwait, "epoll_pwait"}, {SYS_timerfd_settime, "timerfd_settime"},
            {SYS_clock_nanosleep, "clock_nanosleep"}, {SYS_nanosleep, "nanosleep"},
            {SYS_sched_yield, "sched_yield"}, {SYS_bpf, "bpf"}, {SYS_close, "close"},
            {SYS_clock_gettime, "clock_gettime"}, {SYS_madvise, "madvise"},
            {SYS_rt_sigprocmask, "rt_sigprocmask"}, {SYS_exit, "exit"}};
        const auto it = names.find(nr);
        std::string n = it != names.end() ? it->second : "syscall " + std::to_string(nr);
        return zero ? n + "(0)" : n;
    }
};

/// Counts the syscalls one thread enters, by number, with a BPF program on the raw syscall
/// tracepoint (bpf/bench_syscalls.bpf.c): the benches measure bpfco and libbpf consumers the
/// same way.
class syscall_counter {
public:
    syscall_counter() {
        std::size_t n = 0;
        const void* elf = bench_syscalls_bpf__elf_bytes(&n);
        obj_ = bpfco::object::open_memory("bench_syscalls", {static_cast<const std::byte*>(elf), n}).value();
        obj_.load().value();
        link_ = obj_.program("count_thread_syscalls").value().attach().value();
        counts_ = obj_.map<bpfco::hash_map<std::uint32_t, std::uint64_t>>("syscalls").value();
    }
    /// Counts from zero the syscalls of thread `tid` (0: none).
    void watch(std::uint32_t tid) const {
        const std::uint32_t zero = 0;
        obj_.map("target").value().insert_bytes(&zero, &tid, bpfco::update_flags::any).value();
        std::uint32_t nr = 0;
        while (counts_.untyped().next_key_bytes(nullptr, &nr).value()) counts_.erase(nr).value();
    }
    syscall_mix count() const {
        syscall_mix m;
        const auto all = counts_.read_all().value();
        for (const auto& [nr, c] : all) m.calls[nr] = c;
        return m;
    }

private:
    bpfco::object obj_;
    bpfco::link link_;
    bpfco::hash_map<std::uint32_t, std::uint64_t> counts_;
};

/// What one concurrent round cost: CPU seconds of the consumer and of the producers, and the
/// consumer's syscalls.
struct round_cost {
    double cpu_s = 0, consumer_cpu_s = 0;
    std::uint64_t received = 0, lost = 0;
    syscall_mix mix;  // the consumer's syscalls
    round_cost& operator+=(const round_cost& o) {
        cpu_s += o.cpu_s;
        consumer_cpu_s += o.consumer_cpu_s;
        received += o.received;
        lost += o.lost;
        mix += o.mix;
        return *this;
    }
    double cpu_ns_per_event() const { return received ? cpu_s * 1e9 / double(received) : 0; }
    double consumer_ns_per_event() const { return received ? consumer_cpu_s * 1e9 / double(received) : 0; }
    double syscalls_per_1k_events() const { return received ? double(mix.total()) * 1000 / double(received) : 0; }
};

/// Emits `total` records through `emit(k)` (one BPF_PROG_TEST_RUN of k records) at `rate` per
/// second, catching up every 100 us; rate 0: as fast as it goes, 1,000 records a run.
template <class Emit>
void paced(Emit emit, std::uint64_t total, double rate) {
    const double t0 = now_s();
    std::uint64_t sent = 0;
    while (sent < total) {
        std::uint64_t due = total;
        if (rate > 0) due = std::min<std::uint64_t>(total, static_cast<std::uint64_t>((now_s() - t0) * rate));
        if (due > sent) {
            const auto k = static_cast<std::uint32_t>(std::min<std::uint64_t>(due - sent, 1000));
            emit(k);
            sent += k;
        } else {
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    }
}

/// A side's consumer thread, pinned to CPU 0 and kept for the whole matrix: a stream consumer
/// lives as long as its application, so a thread's start (its stack, the malloc arena its first
/// allocation creates, its first touch of the code) is not a cost of the events it reads. Each
/// side has its own, so neither warms the other's. It sleeps between jobs; the syscall count
/// of a job is the job's alone (watched from its start, read while the thread spins after it).
class consumer_thread {
public:
    explicit consumer_thread(const syscall_counter& sys) : sys_(sys), thread_([this] { loop(); }) {
        while (tid_ == 0) std::this_thread::yield();
    }
    ~consumer_thread() {
        set(quit);
        thread_.join();
    }
    consumer_thread(const consumer_thread&) = delete;
    consumer_thread& operator=(const consumer_thread&) = delete;

    /// Starts `job` on the thread, counting its syscalls.
    void start(std::function<void()> job) {
        job_ = std::move(job);
        sys_.watch(tid_);
        set(running);
    }
    /// Waits for the job to end; its CPU seconds and syscalls.
    std::pair<double, syscall_mix> finish() {
        while (state_.load(std::memory_order_acquire) != finished) std::this_thread::yield();
        auto mix = sys_.count();
        sys_.watch(0);
        job_ = nullptr;
        set(idle);
        return {cpu_s_, std::move(mix)};
    }

private:
    enum : int { idle, running, finished, quit };
    void set(int s) {
        state_.store(s, std::memory_order_release);
        state_.notify_all();
    }
    void loop() {
        pin(0);
        tid_ = static_cast<std::uint32_t>(::gettid());
        for (;;) {
            state_.wait(idle, std::memory_order_acquire);
            if (state_.load(std::memory_order_acquire) == quit) return;
            const double c0 = thread_cpu_s();
            job_();
            cpu_s_ = thread_cpu_s() - c0;
            state_.store(finished, std::memory_order_release);
            // No syscall until finish() has read the count: spin, not wait.
            while (state_.load(std::memory_order_acquire) == finished) __builtin_ia32_pause();
        }
    }

    const syscall_counter& sys_;
    std::atomic<int> state_{idle};
    std::atomic<std::uint32_t> tid_{0};
    std::function<void()> job_;
    double cpu_s_ = 0;
    std::thread thread_;  // last: started once the members above exist
};

/// One concurrent round, the same for every consumer: `consume()` runs on `consumer` (CPU 0)
/// until the producers are done and a 100 ms wait finds nothing, while producer thread i runs
/// `produce(i)` pinned to CPU `producer_cpus[i]`; then this thread sets `done` and runs
/// `last()`, one record that ends a consumer's wait. CPU time is the consumer's and the
/// producers' threads'; syscalls the consumer's, from the start of its job to its end.
template <class Consume, class Produce, class Last>
round_cost concurrent_round(consumer_thread& consumer, Consume consume, const std::vector<int>& producer_cpus,
                            Produce produce, std::atomic<bool>& done, Last last) {
    std::vector<double> producer_cpu(producer_cpus.size());
    std::vector<std::thread> threads;
    consumer.start(consume);
    for (std::size_t i = 0; i < producer_cpus.size(); ++i)
        threads.emplace_back([&, i] {
            pin(producer_cpus[i]);
            const double c0 = thread_cpu_s();
            produce(i);
            producer_cpu[i] = thread_cpu_s() - c0;
        });
    for (auto& t : threads) t.join();
    done = true;
    last();
    round_cost c;
    std::tie(c.consumer_cpu_s, c.mix) = consumer.finish();
    c.cpu_s = c.consumer_cpu_s;
    for (double s : producer_cpu) c.cpu_s += s;
    return c;
}

/// A libbpf reader's consume(): `poll()` (ring_buffer__poll or perf_buffer__poll with a 100 ms
/// timeout) until the producer is done and a poll finds nothing.
template <class Poll>
auto poll_loop(Poll poll, const std::atomic<bool>& done) {
    return [poll, &done] {
        for (;;) {
            const int n = poll();
            if (n <= 0 && done) return;
        }
    };
}

/// A bpfco stream's consume(), the loop docs/streams.md advises: try_receive() while it finds
/// records, co_await a receive when it finds none, until the producer is done and a receive
/// raced against a 100 ms timer finds nothing (as libbpf's poll timeout above). The race is a
/// parallel group of deferred operations: no coroutine per side, and the loser's cancellation
/// is an error code, not a thrown exception. `take` walks a batch outside the coroutine, where
/// GCC keeps the iterator in registers.
template <class Stream, class Take>
auto receive_loop(boost::asio::io_context& ctx, Stream& stream, Take take, const std::atomic<bool>& done) {
    return [&ctx, &stream, take, &done] {
        namespace asio = boost::asio;
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
            for (;;) {
                if (auto b = stream.try_receive().value(); !b.empty()) {
                    take(b);
                    continue;
                }
                if (!done) {
                    take(co_await stream.async_receive(asio::use_awaitable));
                    continue;
                }
                asio::steady_timer t(ctx, std::chrono::milliseconds(100));
                auto [order, ec, b, timer_ec] =
                    co_await asio::experimental::make_parallel_group(stream.async_receive(asio::deferred),
                                                                     t.async_wait(asio::deferred))
                        .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
                if (order[0] == 1) break;
                if (ec) throw boost::system::system_error(ec, "async_receive");
                take(b);
            }
        }, asio::detached);
        ctx.run();
    };
}

/// The concurrent matrix of the ring and perf benches: at 20,000/s, 200,000/s and unpaced
/// (`unpaced_events`), `repeats` rounds of sides A B B A, where `round(side, total, rate)` runs
/// one side's round (0: libbpf, 1: bpfco) and a round of `total` events produces
/// `produced(total)`. Prints each rate's costs, its RESULTs and RATIOs
/// `<stream>_concurrent_cpu_per_event[rate]` and `<stream>_syscalls_per_1k_events[rate]`, and
/// their worst rates (`_min`); `lost` names what the round's loss count is.
template <class Round, class Produced>
void concurrent_matrix(const std::string& stream, const char* lost, int repeats, double round_s,
                       std::uint64_t unpaced_events, Produced produced, Round round) {
    worst_cell cpu_worst, sys_worst;
    for (const double rate : {20000.0, 200000.0, 0.0}) {
        const double t0 = now_s();
        const std::string label = rate == 20000 ? "20k/s" : rate == 200000 ? "200k/s" : "max";
        const std::uint64_t total = rate > 0 ? static_cast<std::uint64_t>(rate * round_s) : unpaced_events;
        std::vector<double> cpu_r, sys_r;
        round_cost all[2];
        for (int r = 0; r < repeats; ++r) {
            round_cost side[2];
            for (int s : {0, 1, 1, 0}) {
                const round_cost c = round(s, total, rate);
                if (c.received + c.lost != produced(total))
                    std::printf("  MISMATCH (%s): produced %lu, received %lu, %s %lu\n", s == 0 ? "libbpf" : "bpfco",
                                produced(total), c.received, lost, c.lost);
                side[s] += c;
            }
            cpu_r.push_back(side[0].cpu_ns_per_event() / side[1].cpu_ns_per_event());
            sys_r.push_back(side[0].syscalls_per_1k_events() / side[1].syscalls_per_1k_events());
            all[0] += side[0];
            all[1] += side[1];
        }
        std::printf("  [%s] libbpf: %.1f ns CPU/event, %.2f syscalls/1k events, received %lu %s %lu | "
                    "bpfco: %.1f ns CPU/event, %.2f syscalls/1k events, received %lu %s %lu (%.1f s)\n",
                    label.c_str(), all[0].cpu_ns_per_event(), all[0].syscalls_per_1k_events(), all[0].received, lost,
                    all[0].lost, all[1].cpu_ns_per_event(), all[1].syscalls_per_1k_events(), all[1].received, lost,
                    all[1].lost, now_s() - t0);
        // Where the costs go: the consumer's share of the CPU, and which syscalls it makes.
        std::printf("    consumer thread alone: libbpf %.1f ns CPU/event, bpfco %.1f; syscalls per 1,000 events "
                    "by call: libbpf: %s | bpfco: %s\n",
                    all[0].consumer_ns_per_event(), all[1].consumer_ns_per_event(),
                    all[0].mix.per_1k(all[0].received).c_str(), all[1].mix.per_1k(all[1].received).c_str());
        result(stream + "_concurrent_libbpf_cpu_per_event[" + label + "]", all[0].cpu_ns_per_event(), "ns");
        result(stream + "_concurrent_bpfco_cpu_per_event[" + label + "]", all[1].cpu_ns_per_event(), "ns");
        result(stream + "_concurrent_libbpf_syscalls_per_1k_events[" + label + "]", all[0].syscalls_per_1k_events(),
               "syscalls");
        result(stream + "_concurrent_bpfco_syscalls_per_1k_events[" + label + "]", all[1].syscalls_per_1k_events(),
               "syscalls");
        const auto cpu = spread_of(cpu_r), calls = spread_of(sys_r);
        ratio(stream + "_concurrent_cpu_per_event[" + label + "]", cpu);
        ratio(stream + "_syscalls_per_1k_events[" + label + "]", calls);
        cpu_worst.note(label, cpu.median);
        sys_worst.note(label, calls.median);
    }
    cpu_worst.print(stream + "_concurrent_cpu_per_event");
    sys_worst.print(stream + "_syscalls_per_1k_events");
}

}  // namespace bench
