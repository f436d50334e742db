// Symbolization throughput, cold (fresh symbolizer: kallsyms and ELF files read) and cached, and
// the profiler's overhead on a CPU-bound loop (99 Hz sampling on every CPU, off vs on).
// Prints `RESULT name value unit` and `RATIO name value` lines; run as root:
//   meson test -C build --benchmark --suite bench -v     (or build/bench/symbolize_bench)
#include <bpfco/bpfco.hpp>

#include <linux/types.h>
#include <bpfco/profile.h>

#include "bench_common.hpp"
#include "profile.bpf.skel.h"

#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

// Addresses spread evenly over this process's executable mappings (binary, libc, libstdc++, ...).
std::vector<std::uint64_t> user_addresses(std::size_t n) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    std::uint64_t span = 0;
    std::ifstream in("/proc/self/maps");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string range, perms;
        ls >> range >> perms;
        if (perms.size() < 3 || perms[2] != 'x') continue;
        const auto dash = range.find('-');
        const auto lo = std::stoull(range.substr(0, dash), nullptr, 16);
        const auto hi = std::stoull(range.substr(dash + 1), nullptr, 16);
        ranges.emplace_back(lo, hi);
        span += hi - lo;
    }
    std::vector<std::uint64_t> out;
    const std::uint64_t step = std::max<std::uint64_t>(span / n, 1);
    for (auto [lo, hi] : ranges)
        for (auto a = lo; a < hi && out.size() < n; a += step) out.push_back(a);
    return out;
}

// Kernel text addresses: every 10th text symbol of kallsyms, a few bytes in.
std::vector<std::uint64_t> kernel_addresses(std::size_t n) {
    std::vector<std::uint64_t> out;
    std::ifstream in("/proc/kallsyms");
    std::string addr, type, name;
    std::size_t i = 0;
    while (out.size() < n && in >> addr >> type >> name) {
        in.ignore(1000, '\n');
        if ((type == "T" || type == "t") && i++ % 10 == 0) out.push_back(std::stoull(addr, nullptr, 16) + 4);
    }
    return out;
}

struct rates {
    double cold, cached;
};

rates symbolize_rates(const std::vector<std::uint64_t>& user, const std::vector<std::uint64_t>& kernel) {
    const double n = static_cast<double>(user.size() + kernel.size());
    std::size_t known = 0;
    auto resolve = [&](bpfco::symbolizer& s) {
        for (auto a : user) known += s.user(::getpid(), a).known();
        for (auto a : kernel) known += s.kernel(a).known();
    };
    double best_cold = 0, best_cached = 0;
    for (int rep = 0; rep < 3; ++rep) {
        bpfco::symbolizer s;
        auto t = clock_type::now();
        resolve(s);
        best_cold = std::max(best_cold, n / seconds_since(t));
        t = clock_type::now();
        for (int i = 0; i < 5; ++i) resolve(s);
        best_cached = std::max(best_cached, 5 * n / seconds_since(t));
    }
    std::fprintf(stderr, "symbolized %.0f addresses per pass (%zu user, %zu kernel); %.0f%% had symbols\n", n,
                 user.size(), kernel.size(), 100.0 * static_cast<double>(known) / (n * 18));
    return {best_cold, best_cached};
}

extern "C" __attribute__((noinline)) std::uint64_t bench_work(std::uint64_t n) {
    volatile std::uint64_t x = 0;
    for (std::uint64_t i = 0; i < n; ++i) x = x * 31 + i;
    return x;
}

// The loop's own CPU time: on a machine shared with other builds, wall time mostly measures
// them. Sampling interrupts (and the BPF program in them) are charged to the interrupted task.
double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double timed_work() {
    const double t = thread_cpu_seconds();
    bench_work(400'000'000);
    return thread_cpu_seconds() - t;
}

}  // namespace

int main() {
    try {
        bench::print_machine_facts();
        const auto user = user_addresses(20000);
        const auto kernel = kernel_addresses(20000);
        const auto r = symbolize_rates(user, kernel);
        fmt::print("RESULT symbolize_cold {:.0f} addrs/s\n", r.cold);
        fmt::print("RESULT symbolize_cached {:.0f} addrs/s\n", r.cached);
        std::fflush(stdout);

        if (::geteuid() != 0) {
            fmt::print("SKIPPED profiler_overhead: needs root\n");
            return 0;
        }
        // As the profile example runs it: every process, both stacks, 99 Hz on every CPU.
        auto obj = bpfco::object::load_skeleton("profile", profile_bpf__elf_bytes).value();
        profile_config cfg{0, 1, 1};
        std::uint32_t zero = 0;
        obj.map("settings").value().insert_bytes(&zero, &cfg, bpfco::update_flags::any).value();
        auto prog = obj.program("profile_sample").value();
        bpfco::perf_event_options po;
        po.frequency = 99;
        // Alternate off/on runs so that load from other users of the machine hits both alike.
        std::vector<double> off, on;
        for (int rep = 0; rep < 5; ++rep) {
            off.push_back(timed_work());
            auto events = bpfco::perf_event::open(po).value();
            auto sampling = prog.attach_perf_event(events).value();
            on.push_back(timed_work());
        }
        std::sort(off.begin(), off.end());
        std::sort(on.begin(), on.end());
        const double off_s = off[off.size() / 2], on_s = on[on.size() / 2];
        fmt::print("RESULT loop_cpu_sampling_off {:.3f} s\nRESULT loop_cpu_sampling_on {:.3f} s\n", off_s, on_s);
        fmt::print("RATIO profiler_overhead {:.4f}\n", off_s / on_s);
    } catch (const bpfco::error_exception& e) {
        std::fprintf(stderr, "symbolize_bench: %s\n", e.what());
        return 1;
    }
}
