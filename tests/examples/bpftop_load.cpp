// A known BPF load for the bpftop test: runs introspect_xdp with BPF_PROG_TEST_RUN at a steady
// rate, in batches every millisecond paced against the clock, and prints its program id once
// loaded. It asks for a real-time priority so that a busy machine does not bunch its batches.
//   bpftop_load RUNS_PER_SECOND SECONDS
#include <bpfco/bpfco.hpp>

#include "introspect_test.bpf.skel.h"

#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: bpftop_load RUNS_PER_SECOND SECONDS\n");
        return 2;
    }
    const double rate = std::atof(argv[1]);
    const double seconds = std::atof(argv[2]);
    std::size_t n = 0;
    const void* elf = introspect_test_bpf__elf_bytes(&n);
    auto obj = bpfco::object::load_memory("introspect_test", {static_cast<const std::byte*>(elf), n}).value();
    const auto prog = obj.program("introspect_xdp").value();
    std::printf("ready %u\n", bpfco::program_info_of(prog).value().id);
    std::fflush(stdout);

    sched_param priority{};
    priority.sched_priority = 10;
    if (::sched_setscheduler(0, SCHED_FIFO, &priority) != 0) std::perror("bpftop_load: SCHED_FIFO (pacing may vary)");

    static const std::byte packet[64] = {};
    bpfco::test_run_options o;
    o.data_in = packet;
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t done = 0;
    for (;;) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (elapsed >= seconds) break;
        // Catch up on whatever a late wake-up left behind, so every second holds `rate` runs.
        const auto due = static_cast<std::uint64_t>(rate * elapsed);
        if (due > done) {
            o.repeat = static_cast<std::uint32_t>(due - done);
            bpfco::test_run(prog, o).value();
            done = due;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::printf("done %llu\n", static_cast<unsigned long long>(done));
    return 0;
}
