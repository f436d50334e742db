// What the stream tests share: the producers object (bpf/stream_producers.bpf.c) with its
// globals, and a bounded io_context run.
#pragma once

#include "support.hpp"

#include "stream_producers.bpf.skel.h"

#include <bpfco/stream_events.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio.hpp>

#include <chrono>
#include <thread>

#include <sched.h>

namespace bpfco::testing {

struct producers {
    object obj;
    // The producers' sequence counters and the ring's submit flags (.bss), mapped after load.
    global<std::uint64_t> ring_seq, perf_seq, ring_flags;

    /// ring_bytes: the ring's size (a power-of-two multiple of the page size), 0: as declared.
    static producers load(std::uint32_t ring_bytes = 0) {
        producers p;
        p.obj = object::open_memory("stream_producers", elf_of(stream_producers_bpf__elf_bytes)).value();
        if (ring_bytes) p.obj.set_max_entries("ring", ring_bytes).value();
        p.obj.global<std::uint32_t>("filter_pid").value().set(static_cast<std::uint32_t>(::getpid())).value();
        p.obj.load().value();
        p.ring_seq = p.obj.global<std::uint64_t>("ring_seq").value();
        p.perf_seq = p.obj.global<std::uint64_t>("perf_seq").value();
        p.ring_flags = p.obj.global<std::uint64_t>("ring_flags").value();
        return p;
    }

    /// Runs an XDP producer `repeat` times on this CPU (BPF_PROG_TEST_RUN).
    void run(const char* prog, std::uint32_t repeat) const {
        static const std::byte packet[64] = {};
        test_run_options o;
        o.data_in = packet;
        o.repeat = repeat;
        test_run(obj.program(prog).value(), o).value();
    }

    std::uint64_t drops() const { return read_drop_counter(obj.map("drops").value()).value(); }
};

/// Runs ctx until it has no work or `limit` passes; returns true when it ran out of work.
inline bool run_bounded(boost::asio::io_context& ctx, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    ctx.run_for(limit);
    const bool done = ctx.stopped();
    ctx.restart();
    return done;
}

inline void getppid_n(int n) {
    for (int i = 0; i < n; ++i) ::syscall(SYS_getppid);
}

/// Runs f on a thread pinned to `cpu` (per-CPU producers: perf rings, per-CPU maps).
inline void on_cpu(std::uint32_t cpu, auto f) {
    std::thread th([&] {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        REQUIRE(::sched_setaffinity(0, sizeof set, &set) == 0);
        f();
    });
    th.join();
}

}  // namespace bpfco::testing
