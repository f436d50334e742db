// Syscall latency as a log2 histogram of nanoseconds, printed every interval, like bcc's
// syscount/funclatency: raw tracepoints on sys_enter/sys_exit time each syscall in BPF.
//   latency [-d SECONDS] [-p PID] [-i INTERVAL]
#include <bpfco/bpfco.hpp>

#include "command_line.hpp"
#include "latency.bpf.skel.h"

#include <boost/asio.hpp>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <string_view>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace {

struct options {
    unsigned seconds = 0;  // 0: until Ctrl-C
    unsigned interval = 1;
    std::uint32_t pid = 0;
};

options parse(int argc, char** argv) {
    options o;
    examples::command_line cli("latency", "Syscall latency histograms, printed every interval.");
    cli.add_number("-d", o.seconds, "SECONDS", "stop after SECONDS (default: at Ctrl-C)", 1);
    cli.add_number("-p", o.pid, "PID", "only this process id", 1);
    cli.add_number("-i", o.interval, "INTERVAL", "print every INTERVAL seconds (default 1)", 1);
    cli.parse_or_exit(argc, argv);
    return o;
}

// Prints what was counted since the previous interval (the map only grows: no race with BPF
// writers, as clearing it would have).
asio::awaitable<void> print_loop(const options& o, const bpfco::map& hist_map) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    const auto start = std::chrono::steady_clock::now();
    auto next = start;
    std::vector<std::uint64_t> previous(hist_map.info().max_entries, 0);
    for (;;) {
        next += std::chrono::seconds(o.interval);  // drift-free: from the schedule, not from now
        timer.expires_at(next);
        co_await timer.async_wait(asio::use_awaitable);
        auto now = bpfco::histogram::read_log2(hist_map).value();
        std::vector<std::uint64_t> delta(now.counts());
        for (std::size_t i = 0; i < delta.size(); ++i) delta[i] -= previous[i];
        previous = now.counts();
        auto h = bpfco::histogram::log2(std::move(delta));
        const std::time_t t = std::time(nullptr);
        char stamp[16];
        std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&t));
        fmt::print("{} syscalls: {}  p50 {:.0f} ns  p99 {:.0f} ns\n{}\n", stamp, h.total(), h.percentile(50),
                   h.percentile(99), h);
        std::fflush(stdout);
        if (o.seconds && next - start >= std::chrono::seconds(o.seconds)) co_return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    try {
        auto obj = bpfco::object::open_skeleton("latency", latency_bpf__elf_bytes).value();
        obj.global<std::uint32_t>("targ_pid").value().set(o.pid).value();
        obj.load().value();
        auto enter = obj.program("latency_enter").value().attach().value();
        auto exit_link = obj.program("latency_exit").value().attach().value();
        auto hist_map = obj.map("latency_ns").value();
        std::fprintf(stderr, "latency: timing syscalls of %s every %u s (Ctrl-C ends)\n",
                     o.pid ? fmt::format("pid {}", o.pid).c_str() : "every process", o.interval);

        asio::io_context io;
        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](auto, int) { io.stop(); });
        asio::co_spawn(io, print_loop(o, hist_map), [&](std::exception_ptr e) {
            signals.cancel();
            if (e) std::rethrow_exception(e);
        });
        io.run();
    } catch (const bpfco::error_exception& e) {
        std::fprintf(stderr, "latency: %s\n", e.what());
        return 1;
    }
}
