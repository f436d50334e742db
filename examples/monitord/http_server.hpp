// The /metrics endpoint: Boost.Beast on the daemon's io_context. Binding is separate from
// serving so that a port in use is reported before anything is attached to the kernel.
#pragma once

#include <bpfco/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace monitord {

class http_server {
public:
    static bpfco::result<http_server> bind(const boost::asio::any_io_executor& ex, const std::string& address,
                                           std::uint16_t port);
    /// Accepts until close(); GET /metrics answers with render(), anything else with 404.
    boost::asio::awaitable<void> serve(std::function<std::string()> render);
    void close();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

private:
    explicit http_server(boost::asio::ip::tcp::acceptor a) : acceptor_(std::move(a)) {}
    boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace monitord
