#include "http_server.hpp"

#include "output.hpp"
#include "page.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <list>
#include <map>
#include <optional>

#include <fmt/format.h>

namespace monitord {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct http_server::state {
    tcp::acceptor acceptor;
    http_limits limits;
    asio::steady_timer backoff;
    std::list<beast::tcp_stream*> sessions;  // to close them all on close()
    std::size_t active = 0;                  // sessions spawned and not finished (some not started yet)
    std::map<asio::ip::address, std::size_t> active_by_address;  // the same sessions, by peer address
    http_refusals refused;
    std::function<void(std::string)> log;  // serve()'s
    bool closed = false;
};

bpfco::result<http_server> http_server::bind(const asio::any_io_executor& ex, const std::string& address,
                                             std::uint16_t port, http_limits limits) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(address, ec);
    if (ec) return bpfco::failure(EINVAL, fmt::format("--listen: '{}' is not an IP address", address));
    tcp::acceptor a(ex);
    tcp::endpoint ep(addr, port);
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return http_server(std::make_shared<state>(std::move(a), limits, asio::steady_timer(ex)));
    return bpfco::failure(ec.value(), fmt::format("--listen {}:{}: cannot listen: {}", address, port, ec.message()));
}

namespace {

http::response<http::string_body> answer(http::status status, unsigned version, std::string body) {
    http::response<http::string_body> res{status, version};
    res.set(http::field::server, "monitord");
    res.set(http::field::content_type, "text/plain");
    res.body() = std::move(body);
    res.keep_alive(false);
    res.prepare_payload();
    return res;
}

// Why a request could not be read, as the answer it gets; none when the peer left or timed out.
std::optional<http::response<http::string_body>> refusal(boost::system::error_code ec) {
    if (ec == http::error::header_limit)
        return answer(http::status::request_header_fields_too_large, 11, "request header too large\n");
    if (ec.category() == http::make_error_code(http::error::bad_method).category() && ec != http::error::end_of_stream &&
        ec != http::error::partial_message)
        return answer(http::status::bad_request, 11, fmt::format("malformed request: {}\n", ec.message()));
    return std::nullopt;
}

asio::awaitable<void> session(std::shared_ptr<http_server::state> s, tcp::socket socket, asio::ip::address peer,
                              std::function<std::string()> render, event_hub& hub) {
    beast::tcp_stream stream(std::move(socket));
    auto self = s->sessions.insert(s->sessions.end(), &stream);
    struct unregister {
        http_server::state& s;
        std::list<beast::tcp_stream*>::iterator it;
        asio::ip::address peer;
        ~unregister() {
            s.sessions.erase(it);
            --s.active;
            if (auto n = s.active_by_address.find(peer); n != s.active_by_address.end() && --n->second == 0)
                s.active_by_address.erase(n);
        }
    } guard{*s, self, peer};
    if (s->closed) co_return;  // spawned just before close()

    beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
        // Between requests only the idle timeout runs; once a byte is in, the header must follow
        // within the header timeout, however slowly it trickles (slowloris).
        if (!first && buffer.size() == 0) {
            stream.expires_after(s->limits.idle_timeout);
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(512), asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            buffer.commit(n);
        }
        stream.expires_after(s->limits.header_timeout);
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(s->limits.max_header_bytes));
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        std::optional<http::response<http::string_body>> res;
        if (ec) {
            if (ec == beast::error::timeout) ++s->refused.header_timeout;
            res = refusal(ec);
            if (!res) co_return;  // gone, timed out, or closed by close()
            ++s->refused.bad_request;
        } else if (!parser.is_done()) {
            ++s->refused.bad_request;
            // GET /metrics has no body; reading one would only be a way to hold the connection.
            res = answer(http::status::payload_too_large, parser.get().version(), "monitord takes no request body\n");
        } else {
            const auto& req = parser.get();
            const auto target = std::string_view(req.target());
            const auto path = target.substr(0, target.find('?'));
            const auto query = path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view{};
            constexpr std::string_view served = "monitord serves GET /metrics, /events and /\n";
            if (req.method() != http::verb::get && req.method() != http::verb::head) {
                res = answer(http::status::method_not_allowed, req.version(), std::string(served));
            } else if (path == "/metrics") {
                res = answer(http::status::ok, req.version(), render());
                res->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            } else if (path == "/") {
                res = answer(http::status::ok, req.version(), std::string(event_page()));
                res->set(http::field::content_type, "text/html; charset=utf-8");
            } else if (path == "/events") {
                auto request = parse_event_request(query);
                if (!request) {
                    res = answer(http::status::bad_request, req.version(),
                                 fmt::format("/events: {}\n", request.error().message));
                } else if (req.method() == http::verb::head) {
                    res = answer(http::status::method_not_allowed, req.version(), "/events is GET only\n");
                } else {
                    co_await hub.stream(stream, std::move(request).value(), req.version());
                    co_return;  // a stream ends with its connection
                }
            } else {
                res = answer(http::status::not_found, req.version(), std::string(served));
            }
            if (req.method() == http::verb::head) res->body().clear();
            res->keep_alive(req.keep_alive());
        }
        // A client that does not read its answer is cut like one that does not send.
        stream.expires_after(s->limits.header_timeout);
        auto [wec, w] = co_await http::async_write(stream, *res, asio::as_tuple(asio::use_awaitable));
        if (wec == beast::error::timeout) ++s->refused.header_timeout;
        if (wec || !res->keep_alive() || s->closed) co_return;
    }
}

// Past the cap: one short answer written without waiting (a fresh socket's send buffer has room).
void turn_away(tcp::socket& socket) {
    static constexpr std::string_view busy =
        "HTTP/1.1 503 Service Unavailable\r\nServer: monitord\r\nContent-Type: text/plain\r\n"
        "Connection: close\r\nContent-Length: 31\r\n\r\nmonitord: too many connections\n";
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    // Whatever of the request is already here is read first: closing with unread data would
    // reset the connection, and the client might never see the 503.
    std::array<char, 4096> discard;
    if (!ec) socket.read_some(asio::buffer(discard), ec);
    socket.write_some(asio::buffer(busy), ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
}

}  // namespace

asio::awaitable<void> http_server::serve(std::function<std::string()> render, event_hub& hub,
                                         std::function<void(std::string)> log) {
    auto s = s_;
    s->log = log;
    std::uint64_t refused = 0;  // accepts that failed for lack of fds, in the current episode
    for (;;) {
        auto [ec, socket] = co_await s->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (s->closed) co_return;
        if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
            ec == asio::error::no_memory) {
            // The connection stays in the backlog and the listener stays readable: retrying at once
            // would spin a core. Wait, and say so once per episode rather than once per retry.
            ++s->refused.no_fds;
            if (refused++ == 0)
                log(fmt::format("cannot accept HTTP connections: {}; retrying every 100 ms (open connections: {})",
                                ec.message(), s->active));
            s->backoff.expires_after(std::chrono::milliseconds(100));
            co_await s->backoff.async_wait(asio::as_tuple(asio::use_awaitable));
            if (s->closed) co_return;
            continue;
        }
        if (ec) continue;  // a connection that failed before we saw it
        if (refused) {
            log(fmt::format("accepting HTTP connections again (after {} refused attempts)", refused));
            refused = 0;
        }
        if (s->active >= s->limits.max_connections) {
            ++s->refused.over_cap;
            turn_away(socket);
            continue;
        }
        boost::system::error_code peer_ec;
        const auto peer = socket.remote_endpoint(peer_ec).address();
        if (peer_ec) continue;  // already gone
        auto& from_peer = s->active_by_address[peer];
        if (from_peer >= s->limits.max_connections_per_address) {
            ++s->refused.over_address_cap;
            turn_away(socket);
            continue;
        }
        ++from_peer;
        ++s->active;
        // An exception ends only its own connection, and says so.
        asio::co_spawn(s->acceptor.get_executor(), session(s, std::move(socket), peer, render, hub),
                       [s](std::exception_ptr e) {
                           if (e) s->log("an HTTP connection ended by an exception: " + exception_text(e));
                       });
    }
}

void http_server::close() {
    s_->closed = true;
    boost::system::error_code ec;
    s_->acceptor.close(ec);
    s_->backoff.cancel();
    for (auto* stream : s_->sessions) stream->socket().close(ec);
}

tcp::endpoint http_server::local_endpoint() const { return s_->acceptor.local_endpoint(); }

std::size_t http_server::connections() const { return s_->active; }

const http_refusals& http_server::refusals() const { return s_->refused; }

}  // namespace monitord
