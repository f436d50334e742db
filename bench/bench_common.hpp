// Shared by the stream benchmarks: the producers object, CPU pinning, clocks, and output lines
// `RESULT <name> <value> <unit>` / `RATIO <name> <value>`.
#pragma once

#include <bpfco/bpfco.hpp>
#include <bpfco/stream_events.h>

#include "stream_producers.bpf.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

namespace bench {

using globals_t = stream_producers_bpf::stream_producers_bpf__bss;

struct producers {
    bpfco::object obj;
    globals_t* globals = nullptr;  // the kernel's .bss, mapped here

    explicit producers(std::uint32_t ring_bytes) {
        std::size_t n = 0;
        const void* elf = stream_producers_bpf__elf_bytes(&n);
        obj = bpfco::object::open_memory("stream_producers", {static_cast<const std::byte*>(elf), n}).value();
        obj.set_max_entries("ring", ring_bytes).value();
        obj.load().value();
        auto* bss = bpf_object__find_map_by_name(obj.native_handle(), ".bss");
        void* m = ::mmap(nullptr, sizeof(globals_t), PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(bss), 0);
        if (m == MAP_FAILED) throw std::runtime_error("mmap .bss");
        globals = static_cast<globals_t*>(m);
        globals->filter_pid = static_cast<std::uint32_t>(::getpid());
    }
    ~producers() { ::munmap(globals, sizeof(globals_t)); }
    producers(const producers&) = delete;
    producers& operator=(const producers&) = delete;

    void run(const char* prog, std::uint32_t repeat) const {
        static const std::byte packet[64] = {};
        bpfco::test_run_options o;
        o.data_in = packet;
        o.repeat = repeat;
        bpfco::test_run(obj.program(prog).value(), o).value();
    }
    int map_fd(const char* name) const { return bpf_object__find_map_fd_by_name(obj.native_handle(), name); }
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

struct consumer_rate {
    double events_per_s = 0, cpu_ns_per_event = 0;
};

/// A libbpf reader's concurrent round: `poll()` (ring_buffer__poll or perf_buffer__poll with a
/// timeout) on a thread pinned to CPU 0, until the producer is done and a poll finds nothing,
/// while `produce()` runs on this thread. `received` is the sink's count, read at the end.
template <class Poll, class Produce>
consumer_rate poll_while_producing(Poll poll, Produce produce, const std::atomic<bool>& done,
                                   const std::uint64_t& received) {
    consumer_rate r;
    std::thread consumer([&] {
        pin(0);
        const double c0 = thread_cpu_s(), t0 = now_s();
        while (poll() > 0 || !done) {
        }
        r.events_per_s = received / (now_s() - t0);
        r.cpu_ns_per_event = (thread_cpu_s() - c0) * 1e9 / received;
    });
    produce();
    consumer.join();
    return r;
}

}  // namespace bench
