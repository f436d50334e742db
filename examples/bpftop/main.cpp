// bpftop: every BPF program on the host, sorted by the share of one CPU it used in the last
// second (as Netflix's bpftop), from the kernel's run-time statistics, which it turns on while it
// runs. Needs CAP_SYS_ADMIN (root).
//   bpftop [--json] [--duration SECONDS] [--interval MS]
#include "command_line.hpp"

#include <bpfco/analysis/kernel_objects.hpp>
#include <bpfco/analysis/program_watch.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <unistd.h>

#include <fmt/format.h>

namespace {

namespace asio = boost::asio;

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
                           json_string(fmt::format("{}", p.type)), json_string(p.name));
    return out + "]";
}

void print_json(const bpfco::program_stats& s) {
    std::string programs = "[";
    for (const auto& p : s.programs)
        programs += fmt::format(
            "{}{{\"id\":{},\"type\":{},\"name\":{},\"runs_per_second\":{:.1f},\"avg_ns\":{:.1f},"
            "\"cpu_percent\":{:.4f},\"run_count\":{},\"run_time_ns\":{}}}",
            programs.size() > 1 ? "," : "", p.id, json_string(fmt::format("{}", p.type)),
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
        fmt::print("{:>7}  {:<16} {:<16} {:>12.0f} {:>10.0f} {:>8.3f}\n", p.id, fmt::format("{}", p.type),
                   p.name, p.runs_per_second, p.average_ns, p.cpu_share * 100);
    for (const auto& p : s.appeared) fmt::print("  + {} {} (loaded)\n", p.id, p.name);
    for (const auto& p : s.disappeared) fmt::print("  - {} {} (unloaded)\n", p.id, p.name);
    if (!terminal) fmt::print("\n");
    std::fflush(stdout);
}

// Refreshes until `duration` has passed (0: until closed by a signal), each snapshot sorted by CPU share.
asio::awaitable<int> refresh(bpfco::program_watch& watch, std::chrono::milliseconds duration, bool json) {
    const bool terminal = !json && ::isatty(STDOUT_FILENO);
    const auto start = bpfco::program_watch::clock::now();
    for (;;) {
        auto [ec, snapshot] = co_await watch.async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted) co_return 0;
        if (ec) {
            fmt::print(stderr, "bpftop: sampling the programs' statistics: {}\n", ec.message());
            co_return 1;
        }
        std::stable_sort(snapshot.programs.begin(), snapshot.programs.end(),
                         [](const auto& a, const auto& b) { return a.cpu_share > b.cpu_share; });
        if (json) {
            print_json(snapshot);
            std::fflush(stdout);
        } else {
            print_table(snapshot, terminal);
        }
        // Half an interval of slack: the last snapshot due within the duration ends it.
        if (duration.count() > 0 && snapshot.time - start >= duration - watch.interval() / 2) co_return 0;
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool json = false;
    unsigned duration_s = 0, interval_ms = 1000;
    examples::command_line cli("bpftop", "Every BPF program on this host, by the share of one CPU it uses.");
    cli.add_flag("--json", json, "print one JSON object per refresh instead of a table");
    cli.add_number("--duration", duration_s, "SECONDS", "stop after SECONDS (default: at Ctrl-C)");
    cli.add_number("--interval", interval_ms, "MS", "refresh every MS milliseconds (default 1000)", 1);
    cli.parse_or_exit(argc, argv);

    auto stats = bpfco::run_time_stats::enable();
    if (!stats) {
        fmt::print(stderr, "bpftop: {}\n", stats.error().message);
        return 1;
    }
    asio::io_context io;
    auto watch = bpfco::program_watch::create(io.get_executor(), std::chrono::milliseconds(interval_ms));
    if (!watch) {
        fmt::print(stderr, "bpftop: {}\n", watch.error().message);
        return 1;
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { watch.value().close(); });
    int status = 0;
    asio::co_spawn(io, refresh(watch.value(), std::chrono::seconds(duration_s), json),
                   [&](std::exception_ptr e, int s) {
                       if (e) std::rethrow_exception(e);
                       status = s;
                       signals.cancel();
                   });
    io.run();
    return status;
}
