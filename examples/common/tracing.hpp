// What the tracing examples share around their BPF objects: the command-name filter they set
// before load, and running until Ctrl-C or their -d deadline.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <string_view>

namespace examples {

/// A command name as a 16-byte, NUL-padded comm, the way BPF compares it; all NUL for none.
inline std::array<char, 16> comm_filter(std::string_view name) {
    std::array<char, 16> comm{};
    name.copy(comm.data(), comm.size() - 1);
    return comm;
}

/// Runs io until SIGINT or SIGTERM arrives, or, unless seconds is 0, until seconds have passed.
inline void run_until_stopped(boost::asio::io_context& io, unsigned seconds) {
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { io.stop(); });
    boost::asio::steady_timer deadline(io);
    if (seconds) {
        deadline.expires_after(std::chrono::seconds(seconds));
        deadline.async_wait([&](auto ec) {
            if (!ec) io.stop();
        });
    }
    io.run();
}

}  // namespace examples
