// xdp_redirect: forwards packets arriving on one interface out of another through a devmap, and
// prints packets/s forwarded each second.
//   xdp_redirect --from IF --to IF [-d SECONDS] [--native]
// Generic (skb) mode by default: it works on any interface, veth included. --native asks for the
// driver's XDP (on veth, the receiving peer of the --to interface then needs an XDP program too).
#include "command_line.hpp"
#include "xdp_redirect.bpf.skel.h"

#include <bpfco/bpfco.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
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
enum : std::uint32_t { stat_packets, stat_bytes, stat_passed };

[[noreturn]] void fail(const std::string& message) {
    fmt::print(stderr, "xdp_redirect: {}\n", message);
    std::exit(2);
}

asio::awaitable<void> report(bpfco::map_watch<bpfco::per_cpu_array<std::uint64_t>>& stats, std::string to,
                             int seconds) {
    for (int i = 0; seconds == 0 || i < seconds; ++i) {
        auto [ec, snap] = co_await stats.async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        fmt::print("{:.0f} packets/s {:.0f} bytes/s to {} (total {} packets, {} not redirected)\n",
                   snap.rate(stat_packets), snap.rate(stat_bytes), to, snap.value(stat_packets),
                   snap.value(stat_passed));
        std::fflush(stdout);
    }
    stats.close();
}
}  // namespace

int main(int argc, char** argv) {
    std::string from, to;
    int seconds = 0;
    auto mode = bpfco::xdp_mode::generic;
    examples::command_line cli("xdp_redirect", "Forwards the packets arriving on one interface out of another.");
    cli.add_option("--from", from, "the interface packets arrive on")->type_name("IF")->required();
    cli.add_option("--to", to, "the interface they leave by")->type_name("IF")->required();
    cli.add_number("-d", seconds, "SECONDS", "stop after SECONDS (default: at Ctrl-C)");
    cli.add_flag_callback("--native", [&mode] { mode = bpfco::xdp_mode::native; },
                          "the driver's XDP instead of the generic (skb) mode");
    cli.parse_or_exit(argc, argv);

    auto obj = bpfco::object::load_skeleton("xdp_redirect", xdp_redirect_bpf__elf_bytes);
    if (!obj) fail(obj.error().message);
    auto ports = obj.value().map<bpfco::devmap>("tx_ports").value();
    if (auto r = ports.insert(0, to); !r) fail(r.error().message);
    auto link = obj.value().program("xdp_redirect_out").value().attach_xdp(from, mode);
    if (!link) fail(link.error().message);

    asio::io_context io;
    bpfco::map_watch stats(io, obj.value().map<bpfco::per_cpu_array<std::uint64_t>>("redirect_stats").value(), 1s);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { stats.close(); });
    asio::co_spawn(io, report(stats, to, seconds), [&](std::exception_ptr) { signals.cancel(); });
    fmt::print("forwarding {} -> {} (Ctrl-C to stop)\n", from, to);
    std::fflush(stdout);
    io.run();
    fmt::print("detached from {}\n", from);
    return 0;
}
