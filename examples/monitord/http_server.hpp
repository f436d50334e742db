// The /metrics endpoint: Boost.Beast on the daemon's io_context. Binding is separate from
// serving so that a port in use is reported before anything is attached to the kernel.
// Built to stay up under abuse from the same host: every wait has a deadline, connections are
// capped, oversized or malformed requests are answered and closed, fd exhaustion backs off.
#pragma once

#include "event_hub.hpp"
#include "metrics.hpp"

#include <bpfco/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace monitord {

struct http_limits {
    std::chrono::milliseconds header_timeout{5000};  ///< from the first byte awaited to the header's end
    std::chrono::milliseconds idle_timeout{15000};   ///< between requests on a keep-alive connection
    std::size_t max_connections = 64;                ///< more are answered 503 and closed
    std::size_t max_header_bytes = 8192;             ///< more is answered 431
    /// More from one client address are answered 503 and closed, so that one peer holding
    /// connections open cannot starve the scrapes of another.
    std::size_t max_connections_per_address = 8;
};

class http_server {
public:
    static bpfco::result<http_server> bind(const boost::asio::any_io_executor& ex, const std::string& address,
                                           std::uint16_t port, http_limits limits);
    /// Accepts until close(); GET /metrics answers with render(), GET /events streams from `hub`
    /// (a bad filter: 400 naming it), GET / the live page; other targets 404, other methods
    /// 405, a request with a body 413, a header too large 431, a malformed one 400. A stream
    /// holds its connection, counted against both connection caps.
    /// `log` gets one line when the process runs out of fds, one when it accepts again, and one
    /// for each connection an exception ended (the others carry on).
    boost::asio::awaitable<void> serve(std::function<std::string()> render, event_hub& hub,
                                       std::function<void(std::string)> log);
    /// Closes the listener and every open connection at once.
    void close();
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    std::size_t connections() const;
    const http_refusals& refusals() const;

    struct state;

private:
    explicit http_server(std::shared_ptr<state> s) : s_(std::move(s)) {}
    std::shared_ptr<state> s_;
};

}  // namespace monitord
