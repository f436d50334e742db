// bpftop: every BPF program on the host, sorted by the share of one CPU it used in the last
// second (as Netflix's bpftop), from the kernel's run-time statistics, which it turns on while it
// runs. Needs CAP_SYS_ADMIN (root).
//   bpftop [--json] [--duration SECONDS]
#include <bpfco/analysis/kernel_objects.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

// Program names are the kernel's (letters, digits, '_' and '.'), but a JSON line must parse
// whatever a future kernel allows.
std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20)
            out += fmt::format("\\u{:04x}", c);
        else
            out += c;
    }
    return out + '"';
}

std::string json_presence(const std::vector<bpfco::program_presence>& list) {
    std::string out = "[";
    for (const auto& p : list)
        out += fmt::format("{}{{\"id\":{},\"type\":{},\"name\":{}}}", out.size() > 1 ? "," : "", p.id,
                           json_string(bpfco::program_type_name(p.type)), json_string(p.name));
    return out + "]";
}

void print_json(const bpfco::program_stats& s) {
    std::string programs = "[";
    for (const auto& p : s.programs)
        programs += fmt::format(
            "{}{{\"id\":{},\"type\":{},\"name\":{},\"runs_per_second\":{:.1f},\"avg_ns\":{:.1f},"
            "\"cpu_percent\":{:.4f},\"run_count\":{},\"run_time_ns\":{}}}",
            programs.size() > 1 ? "," : "", p.id, json_string(bpfco::program_type_name(p.type)),
            json_string(p.name), p.runs_per_second, p.average_ns, p.cpu_share * 100, p.run_count,
            p.run_time.count());
    programs += "]";
    fmt::print("{{\"time\":{},\"interval_s\":{:.6f},\"programs\":{},\"appeared\":{},\"disappeared\":{}}}\n",
               std::time(nullptr), std::chrono::duration<double>(s.interval).count(), programs,
               json_presence(s.appeared), json_presence(s.disappeared));
}

void print_table(const bpfco::program_stats& s, bool terminal) {
    if (terminal) fmt::print("\x1b[H\x1b[2J");  // redraw in place
    double total = 0;
    for (const auto& p : s.programs) total += p.cpu_share;
    fmt::print("bpftop: {} programs, {:.2f} % of one CPU in BPF over {:.2f} s\n\n", s.programs.size(),
               total * 100, std::chrono::duration<double>(s.interval).count());
    fmt::print("{:>7}  {:<16} {:<16} {:>12} {:>10} {:>8}\n", "ID", "TYPE", "NAME", "RUNS/S", "AVG NS",
               "CPU %");
    for (const auto& p : s.programs)
        fmt::print("{:>7}  {:<16} {:<16} {:>12.0f} {:>10.0f} {:>8.3f}\n", p.id, bpfco::program_type_name(p.type),
                   p.name, p.runs_per_second, p.average_ns, p.cpu_share * 100);
    for (const auto& p : s.appeared) fmt::print("  + {} {} (loaded)\n", p.id, p.name);
    for (const auto& p : s.disappeared) fmt::print("  - {} {} (unloaded)\n", p.id, p.name);
    if (!terminal) fmt::print("\n");
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Every BPF program on this host, by the share of one CPU it uses"};
    bool json = false;
    double duration = 0;
    app.add_flag("--json", json, "print one JSON object per refresh instead of a table");
    app.add_option("--duration", duration, "stop after this many seconds (default: until interrupted)")
        ->check(CLI::NonNegativeNumber);
    CLI11_PARSE(app, argc, argv);

    std::signal(SIGINT, [](int) { stop_requested = 1; });
    std::signal(SIGTERM, [](int) { stop_requested = 1; });

    auto stats = bpfco::run_time_stats::enable();
    if (!stats) {
        fmt::print(stderr, "bpftop: {}\n", stats.error().message);
        return 1;
    }
    bpfco::program_sampler sampler;
    auto first = sampler.sample();
    if (!first) {
        fmt::print(stderr, "bpftop: {}\n", first.error().message);
        return 1;
    }
    const bool terminal = !json && ::isatty(STDOUT_FILENO);
    const auto start = first.value().time;
    constexpr auto refresh = std::chrono::seconds(1);
    for (int n = 1; !stop_requested; ++n) {
        // Refreshes on a fixed grid, so that time spent sampling and printing does not drift it.
        const auto next = start + n * refresh;
        while (!stop_requested && std::chrono::steady_clock::now() < next)
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
                next - std::chrono::steady_clock::now(), std::chrono::milliseconds(100)));
        if (stop_requested) break;
        auto s = sampler.sample();
        if (!s) {
            fmt::print(stderr, "bpftop: {}\n", s.error().message);
            return 1;
        }
        auto& snapshot = s.value();
        std::stable_sort(snapshot.programs.begin(), snapshot.programs.end(),
                         [](const auto& a, const auto& b) { return a.cpu_share > b.cpu_share; });
        if (json) {
            print_json(snapshot);
            std::fflush(stdout);
        } else {
            print_table(snapshot, terminal);
        }
        if (duration > 0 && snapshot.time - start >= std::chrono::duration<double>(duration) - refresh / 2) break;
    }
    return 0;
}
