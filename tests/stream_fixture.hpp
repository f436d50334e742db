// What the stream tests share: the producers object (bpf/stream_producers.bpf.c) with its
// globals reachable, and a bounded io_context run.
#pragma once

#include "support.hpp"

#include "stream_producers.bpf.skel.h"

#include <bpfco/stream_events.h>

#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio.hpp>

#include <chrono>
#include <memory>
#include <thread>

#include <sched.h>

namespace bpfco::testing {

using producer_globals = stream_producers_bpf::stream_producers_bpf__bss;

struct producers {
    struct unmap {
        void operator()(producer_globals* g) const { ::munmap(g, sizeof *g); }
    };
    object obj;
    // The kernel's .bss, mapped here: libbpf's own copy is only remapped onto it by skeleton loads.
    std::unique_ptr<producer_globals, unmap> globals_map;
    producer_globals* globals = nullptr;

    /// ring_bytes: the ring's size (a power-of-two multiple of the page size), 0: as declared.
    static producers load(std::uint32_t ring_bytes = 0) {
        producers p;
        p.obj = object::open_memory("stream_producers", elf_of(stream_producers_bpf__elf_bytes)).value();
        if (ring_bytes) p.obj.set_max_entries("ring", ring_bytes).value();
        p.obj.load().value();
        auto* bss = bpf_object__find_map_by_name(p.obj.native_handle(), ".bss");
        REQUIRE(bss);
        REQUIRE(bpf_map__value_size(bss) == sizeof(producer_globals));
        void* m = ::mmap(nullptr, sizeof(producer_globals), PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(bss), 0);
        REQUIRE(m != MAP_FAILED);
        p.globals_map.reset(static_cast<producer_globals*>(m));
        p.globals = p.globals_map.get();
        p.globals->filter_pid = static_cast<std::uint32_t>(::getpid());
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
