// xdp_counter: the classic loader loop as a C++ coroutine. Loads the object, attaches an XDP
// packet counter, blocks one address, prints packets and bytes per second until Ctrl-C.
//   xdp_counter [INTERFACE] [--block IPV4] [--duration SECONDS]
#include "command_line.hpp"
#include "xdp_counter.bpf.skel.h"

#include <bpfco/bpfco.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
enum : std::uint32_t { stat_packets, stat_bytes };

asio::awaitable<void> report(bpfco::map_watch<bpfco::per_cpu_array<std::uint64_t>>& stats, int seconds) {
    for (int i = 0; seconds == 0 || i < seconds; ++i) {
        auto [ec, snap] = co_await stats.async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        fmt::print("{:.0f} packets/s {:.0f} bytes/s (total {} packets)\n", snap.rate(stat_packets),
                   snap.rate(stat_bytes), snap.value(stat_packets));
        std::fflush(stdout);
    }
    stats.close();
}

[[noreturn]] void fail(const std::string& message) {
    fmt::print(stderr, "xdp_counter: {}\n", message);
    std::exit(2);
}
}  // namespace

int main(int argc, char** argv) {
    std::string interface = "lo", block;
    int seconds = 0;
    examples::command_line cli("xdp_counter", "Counts the packets arriving on an interface, dropping one address's.");
    cli.add_option("INTERFACE", interface, "the interface to watch (default lo)");
    cli.add_option("--block", block, "drop the packets from this address")->type_name("IPV4");
    cli.add_number("--duration", seconds, "SECONDS", "stop after SECONDS (default: at Ctrl-C)");
    cli.parse_or_exit(argc, argv);

    auto obj = bpfco::object::load_skeleton("xdp_counter", xdp_counter_bpf__elf_bytes);
    if (!obj) fail(obj.error().message);
    auto link = obj.value().program("xdp_packet_counter").value().attach_xdp(interface);
    if (!link) fail(link.error().message);

    if (!block.empty()) {
        auto addr = bpfco::ipv4(block);
        if (!addr) fail(addr.error().message);
        auto blocked = obj.value().map<bpfco::hash_map<std::uint32_t, std::uint8_t>>("blocked_ips").value();
        blocked.insert(addr.value(), 1).value();
        fmt::print("dropping packets from {}\n", block);
    }

    asio::io_context io;
    bpfco::map_watch stats(io, obj.value().map<bpfco::per_cpu_array<std::uint64_t>>("xdp_stats").value(), 1s);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { stats.close(); });
    asio::co_spawn(io, report(stats, seconds), [&](std::exception_ptr) { signals.cancel(); });
    fmt::print("counting packets on {} (Ctrl-C to stop)\n", interface);
    std::fflush(stdout);
    io.run();
    fmt::print("detached from {}\n", interface);
    return 0;  // `link` detaches the program here
}
