// What one snapshot of every program's run-time statistics costs (program_sampler::sample()) with
// 1,000 programs loaded, against the same reading done with raw libbpf calls in the same run
// (next id, fd by id, info, close per program: what bpftool and bpftop do). A bpftop refreshing
// each second spends this once a second. sample() reads a BPF iterator over programs where the
// kernel lets it load one (the line "bpfco reads" says which), so the ratio is that against four
// bpf() calls per program; where it falls back to the same calls, the ratio shows bpfco's
// bookkeeping. Needs root.
#include <bpfco/analysis/kernel_objects.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace {
using clock_type = std::chrono::steady_clock;
constexpr int programs = 1000;
constexpr int repeats = 7;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void print_machine() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line, model = "unknown";
    while (std::getline(cpuinfo, line))
        if (line.starts_with("model name")) {
            model = line.substr(line.find(':') + 2);
            break;
        }
    utsname u{};
    ::uname(&u);
    fmt::print("machine: {} ({} CPUs online), Linux {}, libbpf {}.{}\n", model, ::sysconf(_SC_NPROCESSORS_ONLN),
               u.release, libbpf_major_version(), libbpf_minor_version());
}

// The plain C reading: what sample() does per program, without its bookkeeping.
std::uint64_t raw_snapshot() {
    std::uint64_t total = 0;
    std::uint32_t id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        const int fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_prog_info info{};
        std::uint32_t len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) total += info.run_cnt;
        ::close(fd);
    }
    return total;
}

// Milliseconds per snapshot over a window of at least 100 ms.
template <class Snapshot>
double ms_per_snapshot(Snapshot snapshot) {
    const auto t0 = clock_type::now();
    int n = 0;
    do {
        snapshot();
        ++n;
    } while (clock_type::now() - t0 < std::chrono::milliseconds(100));
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count() / n;
}

}  // namespace

int main() {
    if (::geteuid() != 0) {
        std::printf("SKIPPED: introspect_bench needs root\n");
        return 0;
    }
    print_machine();
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);

    // 1,000 two-instruction socket filters (r0 = 0; exit), each held by its fd.
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    std::vector<int> fds;
    const auto load0 = clock_type::now();
    for (int i = 0; i < programs; ++i) {
        const int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, fmt::format("bench_{}", i).c_str(), "GPL",
                                     insns, 2, nullptr);
        if (fd < 0) {
            std::printf("loading program %d of %d failed: %s (memlock or fd limit?)\n", i + 1, programs,
                        std::strerror(errno));
            return 1;
        }
        fds.push_back(fd);
    }
    fmt::print("loaded {} programs in {:.0f} ms\n", programs,
               std::chrono::duration<double, std::milli>(clock_type::now() - load0).count());

    auto stats = bpfco::run_time_stats::enable().value();
    bpfco::program_sampler sampler;
    const auto listed = sampler.sample().value().appeared.size();
    fmt::print("programs on the host: {}\n", listed);
    fmt::print("bpfco reads: {}\n", sampler.uses_iterator() ? "a BPF iterator over programs" : "bpf() calls by id");

    std::vector<double> bpfco_ms, raw_ms, ratios;
    for (int r = 0; r < repeats; ++r) {
        // A B B A, so that drift in the machine's load falls on both.
        const double a1 = ms_per_snapshot([&] { sampler.sample().value(); });
        const double b1 = ms_per_snapshot(raw_snapshot);
        const double b2 = ms_per_snapshot(raw_snapshot);
        const double a2 = ms_per_snapshot([&] { sampler.sample().value(); });
        bpfco_ms.push_back((a1 + a2) / 2);
        raw_ms.push_back((b1 + b2) / 2);
        ratios.push_back(raw_ms.back() / bpfco_ms.back());
    }
    for (int fd : fds) ::close(fd);
    const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
    fmt::print("snapshot of {} programs: bpfco {:.3f} ms, raw libbpf {:.3f} ms (medians of {})\n", listed,
               median(bpfco_ms), median(raw_ms), repeats);
    std::printf("RESULT introspect_snapshot_1000 %.3f ms\n", median(bpfco_ms));
    std::printf("RATIO introspect_snapshot_vs_libbpf %.3f\n", median(ratios));
    std::printf("ratio range over %d repeats: %.3f-%.3f\n", repeats, *lo, *hi);
    fmt::print("at one snapshot a second: {:.2f} % of a CPU\n", median(bpfco_ms) / 10);
    return 0;
}
