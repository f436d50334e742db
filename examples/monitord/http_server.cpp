#include "http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

namespace monitord {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

bpfco::result<http_server> http_server::bind(const asio::any_io_executor& ex, const std::string& address,
                                             std::uint16_t port) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(address, ec);
    if (ec) return bpfco::failure(EINVAL, fmt::format("--listen: '{}' is not an IP address", address));
    tcp::acceptor a(ex);
    tcp::endpoint ep(addr, port);
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return http_server(std::move(a));
    return bpfco::failure(ec.value(), fmt::format("--listen {}:{}: cannot listen: {}", address, port, ec.message()));
}

namespace {
asio::awaitable<void> session(tcp::socket socket, std::function<std::string()> render) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> req;
        auto [ec, n] = co_await http::async_read(socket, buffer, req, asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;  // closed or malformed: nothing to answer
        http::response<http::string_body> res;
        res.version(req.version());
        res.keep_alive(req.keep_alive());
        res.set(http::field::server, "monitord");
        if (req.method() == http::verb::get && req.target() == "/metrics") {
            res.result(http::status::ok);
            res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            res.body() = render();
        } else {
            res.result(http::status::not_found);
            res.set(http::field::content_type, "text/plain");
            res.body() = "monitord serves GET /metrics\n";
        }
        res.prepare_payload();
        auto [wec, w] = co_await http::async_write(socket, res, asio::as_tuple(asio::use_awaitable));
        if (wec || !res.keep_alive()) co_return;
    }
}
}  // namespace

asio::awaitable<void> http_server::serve(std::function<std::string()> render) {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        if (ec) continue;  // a connection that failed before we saw it
        asio::co_spawn(acceptor_.get_executor(), session(std::move(socket), render), asio::detached);
    }
}

void http_server::close() {
    boost::system::error_code ec;
    acceptor_.close(ec);
}

}  // namespace monitord
