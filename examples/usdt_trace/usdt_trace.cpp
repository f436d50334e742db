// Traces a USDT probe of a binary (or of one running process) and prints each hit with its
// arguments, through bpfco_log records formatted here.
//   usdt_trace BINARY PROVIDER:NAME [-p PID] [-d SECONDS]
// e.g. usdt_trace /lib/x86_64-linux-gnu/libc.so.6 libc:setjmp -d 5
// List a binary's probes with `readelf -n BINARY`.
#include <bpfco/bpfco.hpp>

#include "command_line.hpp"
#include "usdt_trace.bpf.skel.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace {

asio::awaitable<void> print_hits(bpfco::log_stream& logs) {
    for (;;) {
        auto batch = co_await logs.async_receive(asio::use_awaitable);
        for (const auto& r : batch) fmt::print("{:.6f} {}\n", r.timestamp_ns / 1e9, r.text);
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string binary, probe;
    int pid = -1;
    double seconds = 0;
    examples::command_line cli("usdt_trace", "Traces a USDT probe of a binary and prints each hit with its arguments.");
    cli.add_option("BINARY", binary, "the executable or library with the probe")->required();
    cli.add_option("PROVIDER:NAME", probe, "the probe, as `readelf -n BINARY` lists it")
        ->required()
        ->check(CLI::Validator(
            [](const std::string& p) -> std::string {
                const auto colon = p.find(':');
                if (colon == std::string::npos || colon == 0 || colon + 1 == p.size())
                    return fmt::format("expected PROVIDER:NAME, not '{}'", p);
                return {};
            },
            ""));
    cli.add_number("-p", pid, "PID", "only in this process (default: every process)", 1);
    cli.add_option("-d", seconds, "stop after SECONDS, decimals allowed (default: at Ctrl-C)")->type_name("SECONDS");
    cli.parse_or_exit(argc, argv);
    const auto colon = probe.find(':');
    try {
        auto obj = bpfco::object::load_skeleton("usdt_trace", usdt_trace_bpf__elf_bytes).value();
        auto link = obj.program("trace_probe").value()
                        .attach_usdt(binary, probe.substr(0, colon), probe.substr(colon + 1), {.pid = pid})
                        .value();
        fmt::print(stderr, "tracing {} in {}{}\n", probe, binary, pid > 0 ? fmt::format(" (pid {})", pid) : "");
        asio::io_context io;
        auto logs = bpfco::log_stream::create(io.get_executor(), obj).value();
        asio::signal_set stop(io, SIGINT, SIGTERM);
        asio::steady_timer deadline(io);
        auto finish = [&] {
            stop.cancel();
            deadline.cancel();
            logs.close();
        };
        stop.async_wait([&](auto ec, int) {
            if (!ec) finish();
        });
        if (seconds > 0) {
            deadline.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::duration<double>(seconds)));
            deadline.async_wait([&](auto ec) {
                if (!ec) finish();
            });
        }
        asio::co_spawn(io, print_hits(logs), asio::detached);
        io.run();
        fmt::print(stderr, "{} hits dropped: the ring was full\n", logs.dropped().value());
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "usdt_trace: {}\n", e.what());
        return 1;
    }
}
