// sockmap_splice: a loopback TCP proxy whose data never enters user space. It accepts one client
// on 127.0.0.1:LISTEN, connects to 127.0.0.1:TO, puts both sockets in a sockmap whose sk_skb
// program forwards each side's data to the other, and prints the bytes moved each second.
//   sockmap_splice --listen PORT --to PORT [-d SECONDS]
#include "command_line.hpp"
#include "sockmap_splice.bpf.skel.h"

#include <bpfco/bpfco.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {
[[noreturn]] void fail(const std::string& message) {
    fmt::print(stderr, "sockmap_splice: {}\n", message);
    std::exit(2);
}

asio::awaitable<void> splice(bpfco::object& obj, std::uint16_t listen_port, std::uint16_t to_port, int seconds,
                             asio::signal_set& signals) {
    auto ex = co_await asio::this_coro::executor;
    auto state = obj.map<bpfco::array<std::uint64_t>>("splice_state").value();
    state.insert(0, listen_port).value();
    auto socks = obj.map<bpfco::sockmap>("splice_socks").value();
    // Before the sockets go in: a socket gets the map's programs when it is inserted.
    auto link = obj.program("splice_verdict").value().attach_sockmap(socks.untyped()).value();

    tcp::acceptor acceptor(ex, {asio::ip::address_v4::loopback(), listen_port});
    fmt::print("listening on 127.0.0.1:{}, splicing to 127.0.0.1:{}\n", listen_port, to_port);
    std::fflush(stdout);
    tcp::socket client = co_await acceptor.async_accept(asio::use_awaitable);
    tcp::socket server(ex);
    co_await server.async_connect({asio::ip::address_v4::loopback(), to_port}, asio::use_awaitable);
    socks.insert(0, client.native_handle()).value();
    socks.insert(1, server.native_handle()).value();
    // Bytes that arrive before a socket is in the map wait in its queue for a reader that never
    // comes: peers should send only after this line.
    fmt::print("splicing the accepted connection to 127.0.0.1:{}\n", to_port);
    std::fflush(stdout);

    asio::steady_timer timer(ex);
    auto next = std::chrono::steady_clock::now();
    for (int i = 0; seconds == 0 || i < seconds; ++i) {
        next += 1s;
        timer.expires_at(next);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) break;
        fmt::print("spliced {} bytes client -> server, {} bytes server -> client\n",
                   state.lookup(1).value().value_or(0), state.lookup(2).value().value_or(0));
        std::fflush(stdout);
    }
    signals.cancel();
}
}  // namespace

int main(int argc, char** argv) {
    std::uint16_t listen_port = 0, to_port = 0;
    int seconds = 0;
    examples::command_line cli("sockmap_splice", "Splices an accepted TCP connection to another in the kernel.");
    cli.add_number("--listen", listen_port, "PORT", "accept one connection on 127.0.0.1:PORT", 1)->required();
    cli.add_number("--to", to_port, "PORT", "splice it to 127.0.0.1:PORT", 1)->required();
    cli.add_number("-d", seconds, "SECONDS", "stop after SECONDS (default: at Ctrl-C)");
    cli.parse_or_exit(argc, argv);

    auto obj = bpfco::object::load_skeleton("sockmap_splice", sockmap_splice_bpf__elf_bytes);
    if (!obj) fail(obj.error().message);
    asio::io_context io;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto ec, int) {
        if (!ec) io.stop();
    });
    int status = 0;
    asio::co_spawn(io,
                   splice(obj.value(), listen_port, to_port, seconds, signals),
                   [&](std::exception_ptr e) {
                       if (!e) return;
                       try {
                           std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                           fmt::print(stderr, "sockmap_splice: {}\n", x.what());
                           status = 1;
                       }
                       signals.cancel();
                   });
    io.run();
    return status;
}
