// tcp_cc: registers bpfco_reno, a TCP congestion control written in BPF (struct_ops), prints how
// many calls the kernel made into it each second, and unregisters it at exit. While it runs, a
// socket chooses it with setsockopt(TCP_CONGESTION, "bpfco_reno"), or every new connection with
// `sysctl net.ipv4.tcp_congestion_control=bpfco_reno`. Needs BPF trampolines (the host kernel of
// this project has none: run it in the vm suite's kernels, or any stock distribution kernel).
//   tcp_cc [--duration SECONDS]
#include "command_line.hpp"
#include "tcp_cc.bpf.skel.h"

#include <bpfco/bpfco.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <functional>

#include <fmt/format.h>

namespace asio = boost::asio;

int main(int argc, char** argv) {
    unsigned seconds = 0;
    examples::command_line cli("tcp_cc", "Registers a TCP congestion control written in BPF and counts its calls.");
    cli.add_number("--duration", seconds, "SECONDS", "unregister after SECONDS (default: at Ctrl-C)");
    cli.parse_or_exit(argc, argv);

    auto obj = bpfco::object::load_skeleton("tcp_cc", tcp_cc_bpf__elf_bytes);
    if (!obj) {
        fmt::print(stderr, "tcp_cc: {}\n", obj.error().message);
        return 1;
    }
    auto callbacks = obj.value().global<std::uint64_t>("callbacks").value();
    auto registered = obj.value().attach_struct_ops("bpfco_reno");
    if (!registered) {
        fmt::print(stderr, "tcp_cc: {}\n", registered.error().message);
        return 1;
    }
    fmt::print("registered bpfco_reno: choose it with setsockopt(TCP_CONGESTION) (Ctrl-C to stop)\n");
    std::fflush(stdout);

    asio::io_context io;
    asio::steady_timer tick(io);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { tick.cancel(); });
    unsigned elapsed = 0;
    std::uint64_t last = 0;
    std::function<void(boost::system::error_code)> report = [&](boost::system::error_code ec) {
        if (ec) return;
        if (elapsed > 0) {
            const auto now = callbacks.load();
            fmt::print("{} calls/s (total {})\n", now - last, now);
            std::fflush(stdout);
            last = now;
        }
        if (seconds > 0 && elapsed == seconds) return signals.cancel();
        ++elapsed;
        tick.expires_after(std::chrono::seconds(1));
        tick.async_wait(report);
    };
    report({});
    io.run();
    fmt::print("unregistered bpfco_reno\n");
    return 0;  // `registered` unregisters here, before the object goes
}
