// xsk_echo: receives the UDP datagrams for one port in user space through AF_XDP and sends each
// back to its sender (addresses and ports swapped), printing packets/s each second from a timer
// beside the receive loop. Other traffic goes to the kernel as usual.
//   xsk_echo IF [--port PORT] [--queue Q] [-d SECONDS]
#include "command_line.hpp"
#include "xsk_echo.bpf.skel.h"

#include <bpfco/bpfco.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
[[noreturn]] void fail(const std::string& message) {
    fmt::print(stderr, "xsk_echo: {}\n", message);
    std::exit(2);
}

// Ethernet, IPv4 (no options: the XDP program steers only those) and UDP source and destination
// swapped. Swapping keeps the IPv4 checksum valid (a sum: the order does not matter). The UDP
// checksum is cleared (allowed over IPv4): a sender with checksum offload (veth, most NICs) leaves
// only the pseudo-header's partial sum there, which the frame carries to us as it is.
void turn_around(std::vector<std::byte>& f) {
    std::swap_ranges(f.begin(), f.begin() + 6, f.begin() + 6);         // MACs
    std::swap_ranges(f.begin() + 26, f.begin() + 30, f.begin() + 30);  // IPv4 addresses
    std::swap_ranges(f.begin() + 34, f.begin() + 36, f.begin() + 36);  // UDP ports
    f[40] = f[41] = std::byte{0};                                      // UDP checksum: none
}

asio::awaitable<void> echo(bpfco::xsk_socket& xsk, std::uint64_t& packets) {
    std::vector<std::byte> reply;
    for (;;) {
        auto [ec, batch] = co_await xsk.async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;  // closed
        for (std::span<std::byte> frame : batch) {
            ++packets;
            if (frame.size() < 42) continue;
            reply.assign(frame.begin(), frame.end());
            turn_around(reply);
            auto [send_ec, n] = co_await xsk.async_send(reply, asio::as_tuple(asio::use_awaitable));
            if (send_ec) co_return;
        }
    }  // each batch's frames go back to the kernel when it is destroyed, here
}

asio::awaitable<void> report(bpfco::xsk_socket& xsk, const std::uint64_t& packets, int seconds) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto next = std::chrono::steady_clock::now();
    std::uint64_t last = 0;
    for (int i = 0; seconds == 0 || i < seconds; ++i) {
        next += 1s;
        timer.expires_at(next);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || !xsk.is_open()) co_return;
        auto stats = xsk.statistics();
        fmt::print("{} packets/s (total {} packets, {} dropped by the kernel)\n", packets - last, packets,
                   stats ? stats.value().rx_dropped : 0);
        std::fflush(stdout);
        last = packets;
    }
    xsk.close();
}
}  // namespace

int main(int argc, char** argv) {
    std::string interface;
    int seconds = 0;
    std::uint16_t port = 9000;
    bpfco::xsk_options options;
    examples::command_line cli("xsk_echo", "Echoes UDP packets back from user space through an AF_XDP socket.");
    cli.add_option("IF", interface, "the interface to echo on")->required();
    cli.add_number("--port", port, "PORT", "the UDP port to echo (default 9000)", 1);
    cli.add_number("--queue", options.queue, "Q", "the interface's receive queue (default 0)");
    cli.add_number("-d", seconds, "SECONDS", "stop after SECONDS (default: at Ctrl-C)");
    cli.parse_or_exit(argc, argv);

    auto obj = bpfco::object::load_skeleton("xsk_echo", xsk_echo_bpf__elf_bytes);
    if (!obj) fail(obj.error().message);
    obj.value().map<bpfco::array<std::uint32_t>>("echo_port").value().insert(0, std::uint32_t{port}).value();

    asio::io_context io;
    auto xsk = bpfco::xsk_socket::create(io.get_executor(), interface, options);
    if (!xsk) fail(xsk.error().message);
    if (auto r = obj.value().map<bpfco::xskmap>("xsks").value().insert(options.queue, xsk.value()); !r)
        fail(r.error().message);
    auto link = obj.value().program("xsk_steer").value().attach_xdp(interface, bpfco::xdp_mode::generic);
    if (!link) fail(link.error().message);

    std::uint64_t packets = 0;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto ec, int) {
        if (!ec) xsk.value().close();
    });
    asio::co_spawn(io, echo(xsk.value(), packets), asio::detached);
    asio::co_spawn(io, report(xsk.value(), packets, seconds), [&](std::exception_ptr) { signals.cancel(); });
    fmt::print("echoing UDP port {} on {} queue {} through AF_XDP (Ctrl-C to stop)\n", port, interface, options.queue);
    std::fflush(stdout);
    io.run();
    fmt::print("echoed {} packets; detached from {}\n", packets, interface);
    return 0;
}
