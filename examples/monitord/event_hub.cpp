#include "event_hub.hpp"

#include "events.hpp"
#include "monitord.bpf.types.hpp"  // monitord::monitord_exec, monitord_open, monitord_connect
#include "monitord_events.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <vector>

#include <fmt/format.h>

namespace monitord {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%') {
            unsigned v = 0;
            if (i + 2 >= s.size()) return std::nullopt;
            auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
            if (ec != std::errc() || p != s.data() + i + 3) return std::nullopt;
            out += static_cast<char>(v);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
    std::uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// The fields filters look at, read once per record whoever subscribes.
struct event_view {
    unsigned kind = 0;
    std::uint32_t pid = 0;
    std::optional<std::uint32_t> uid;
    std::string_view comm, path;
    bool has_path = false;
};

template <class T>
bool read_into(std::span<const std::byte> r, T& v) {
    if (r.size() < sizeof(T)) return false;
    std::memcpy(&v, r.data(), sizeof v);
    return true;
}

std::string_view bounded(const char* s, std::size_t cap) { return {s, ::strnlen(s, cap)}; }

// A copy of the record, read as its kind's struct, and the view the filters use, which points
// into that copy.
struct decoded {
    union {
        monitord_exec exec;
        monitord_open open;
        monitord_connect connect;
    } u;
    event_view view;
};

bool decode(std::span<const std::byte> r, decoded& d) {
    auto& v = d.view;
    v.kind = event_kind(r);
    switch (v.kind) {
    case MONITORD_EXEC:
        if (!read_into(r, d.u.exec)) return false;
        v.pid = d.u.exec.pid;
        v.uid = d.u.exec.uid;
        v.comm = bounded(d.u.exec.comm, sizeof d.u.exec.comm);
        v.path = bounded(d.u.exec.filename, sizeof d.u.exec.filename);
        v.has_path = true;
        return true;
    case MONITORD_OPEN:
        if (!read_into(r, d.u.open)) return false;
        v.pid = d.u.open.pid;
        v.comm = bounded(d.u.open.comm, sizeof d.u.open.comm);
        v.path = bounded(d.u.open.path, sizeof d.u.open.path);
        v.has_path = true;
        return true;
    case MONITORD_CONNECT:
        if (!read_into(r, d.u.connect)) return false;
        v.pid = d.u.connect.pid;
        v.comm = bounded(d.u.connect.comm, sizeof d.u.connect.comm);
        return true;
    default:
        return false;
    }
}

bool matches(const event_request& f, const event_view& e) {
    if (f.kinds && !(f.kinds & (1u << e.kind))) return false;
    if (f.pid && *f.pid != e.pid) return false;
    if (f.uid && (!e.uid || *f.uid != *e.uid)) return false;
    if (f.comm && *f.comm != e.comm) return false;
    if (!f.path_prefix.empty() && (!e.has_path || !e.path.starts_with(f.path_prefix))) return false;
    return true;
}

}  // namespace

bpfco::result<event_request> parse_event_request(std::string_view query) {
    event_request r;
    auto bad = [](std::string message) { return bpfco::make_error(EINVAL, std::move(message)); };
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        auto name = pair.substr(0, eq);
        auto raw = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        auto value = percent_decode(raw);
        if (!value) return bad(fmt::format("{} '{}': bad percent-encoding", name, raw));
        const std::string& v = *value;
        if (name == "kind") {
            std::string_view rest = v;
            while (true) {
                auto comma = rest.find(',');
                auto k = rest.substr(0, comma);
                if (k == "exec") r.kinds |= 1u << MONITORD_EXEC;
                else if (k == "open") r.kinds |= 1u << MONITORD_OPEN;
                else if (k == "connect") r.kinds |= 1u << MONITORD_CONNECT;
                else return bad(fmt::format("kind '{}': expected exec, open or connect (comma-separated)", k));
                if (comma == std::string_view::npos) break;
                rest = rest.substr(comma + 1);
            }
        } else if (name == "pid" || name == "uid") {
            auto n = parse_u32(v);
            if (!n) return bad(fmt::format("{} '{}': expected a number", name, v));
            (name == "pid" ? r.pid : r.uid) = *n;
        } else if (name == "comm") {
            if (v.empty() || v.size() >= MONITORD_COMM_LEN)
                return bad(fmt::format("comm '{}': expected 1 to {} bytes (a task's comm)", v, MONITORD_COMM_LEN - 1));
            r.comm = v;
        } else if (name == "path_prefix") {
            if (v.empty()) return bad("path_prefix '': expected a path");
            r.path_prefix = v;
        } else if (name == "format") {
            if (v != "sse" && v != "ndjson") return bad(fmt::format("format '{}': expected sse or ndjson", v));
            r.ndjson = v == "ndjson";
        } else {
            return bad(fmt::format("unknown parameter '{}': expected kind, pid, uid, comm, path_prefix or format",
                                   name));
        }
    }
    return r;
}

// One event as every subscriber writes it: "id: N\ndata: JSON\n\n", of which NDJSON subscribers
// write the "JSON\n" part. Built once, written by reference (no copy per subscriber).
struct frame {
    std::string sse;
    std::size_t json_at;
    asio::const_buffer sse_buffer() const { return asio::buffer(sse); }
    asio::const_buffer ndjson_buffer() const { return asio::buffer(sse.data() + json_at, sse.size() - json_at - 1); }
};

struct event_hub::subscriber {
    struct item {
        std::shared_ptr<const frame> event;
        std::uint64_t dropped_before;  // events dropped just before this one, told with it
    };
    subscriber(const asio::any_io_executor& ex, event_request r, beast::tcp_stream& s)
        : request(std::move(r)), stream(s), wake(ex), stall(ex) {}
    event_request request;
    beast::tcp_stream& stream;
    std::deque<item> queue;
    std::uint64_t dropped = 0;   // since the last item queued; told when the writer catches up
    asio::steady_timer wake;     // the idle writer's wait: cancelled by publish() and close()
    asio::steady_timer stall;    // runs while the queue is full
    bool waiting = false;
    bool full = false;
    bool gone = false;  // the peer closed its side
};

namespace {
// A subscriber that leaves is noticed at once, not at the next write (a quiet filter may have
// none for long), so that its connection stops counting against the caps. The peer sends
// nothing after its request: the socket turning readable means EOF, or a stray byte, dropped.
void watch_for_leaving(std::weak_ptr<event_hub::subscriber> w, asio::ip::tcp::socket& socket) {
    socket.async_wait(asio::ip::tcp::socket::wait_read, [w, &socket](boost::system::error_code ec) {
        auto s = w.lock();
        if (ec || !s) return;  // while the subscriber lives, so does its socket
        char byte;
        const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_DONTWAIT);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return watch_for_leaving(w, socket);
        s->gone = true;
        s->wake.cancel();
    });
}
}  // namespace

void event_hub::publish(std::span<const std::byte> record) {
    const auto seq = ++seq_;
    if (subscribers_.empty()) return;
    decoded d;
    if (!decode(record, d)) return;
    std::shared_ptr<const frame> f;  // formatted once, for the first subscriber that takes it
    for (auto& s : subscribers_) {
        if (!matches(s->request, d.view)) continue;
        if (s->queue.size() >= limits_.queue) {
            ++s->dropped;
            ++stats_.dropped_queue_full;
            if (!s->full) {
                s->full = true;
                s->stall.expires_after(limits_.stall_limit);
                s->stall.async_wait([this, w = std::weak_ptr<subscriber>(s)](boost::system::error_code ec) {
                    auto s = w.lock();
                    if (ec || !s) return;
                    ++stats_.stalled;
                    s->stream.socket().close(ec);  // the writer's pending write fails; it ends
                });
            }
            continue;
        }
        if (!f) {
            auto json = format_event(record, output_format::json);
            if (!json) return;
            auto head = fmt::format("id: {}\ndata: ", seq);
            f = std::make_shared<const frame>(frame{head + *json + "\n\n", head.size()});
        }
        s->queue.push_back({f, std::exchange(s->dropped, 0)});
        if (s->waiting) s->wake.cancel();
    }
}

asio::awaitable<void> event_hub::stream(beast::tcp_stream& stream, event_request request, unsigned version) {
    auto s = std::make_shared<subscriber>(stream.get_executor(), std::move(request), stream);
    const bool ndjson = s->request.ndjson;
    auto self = subscribers_.insert(subscribers_.end(), s);
    watch_for_leaving(s, stream.socket());
    // What the current write refers to: the events (kept alive by their frames), the drop
    // notices and heartbeats (in a deque: its elements stay put as it grows), the buffers.
    std::vector<std::shared_ptr<const frame>> in_flight;
    std::deque<std::string> notes;
    std::vector<asio::const_buffer> buffers;
    struct unregister {
        event_hub& hub;
        std::list<std::shared_ptr<subscriber>>::iterator it;
        const std::vector<std::shared_ptr<const frame>>& in_flight;
        ~unregister() {
            auto& s = **it;
            hub.stats_.dropped_disconnected += s.queue.size() + in_flight.size();
            s.stall.cancel();
            hub.subscribers_.erase(it);
        }
    } guard{*this, self, in_flight};

    // A stream ends only with the connection: no length, no keep-alive. Timeouts are the stall
    // timer's job from here on.
    stream.expires_never();
    notes.push_back(fmt::format("HTTP/1.{} 200 OK\r\nServer: monitord\r\nContent-Type: {}\r\n"
                                "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n",
                                version == 10 ? 0 : 1, ndjson ? "application/x-ndjson" : "text/event-stream"));
    buffers.push_back(asio::buffer(notes.back()));
    auto note = [&](std::string text) {
        notes.push_back(std::move(text));
        buffers.push_back(asio::buffer(notes.back()));
    };
    auto told = [&](std::uint64_t n) {
        note(ndjson ? fmt::format("{{\"dropped\":{}}}\n", n)
                    : fmt::format("event: dropped\ndata: {{\"dropped\":{}}}\n\n", n));
    };
    constexpr std::size_t batch = 256;  // events per write (and iovecs, well under IOV_MAX)
    for (;;) {
        if (closed_ || s->gone) co_return;
        if (s->queue.empty() && s->dropped == 0 && buffers.empty()) {
            s->waiting = true;
            s->wake.expires_after(limits_.heartbeat);
            auto [ec] = co_await s->wake.async_wait(asio::as_tuple(asio::use_awaitable));
            s->waiting = false;
            if (closed_ || s->gone) co_return;
            if (!ec) note(ndjson ? "\n" : ": heartbeat\n\n");
        }
        for (std::size_t n = 0; n < batch && !s->queue.empty(); ++n) {
            auto& it = s->queue.front();
            if (it.dropped_before) told(it.dropped_before);
            buffers.push_back(ndjson ? it.event->ndjson_buffer() : it.event->sse_buffer());
            in_flight.push_back(std::move(it.event));
            s->queue.pop_front();
        }
        if (s->queue.empty() && s->dropped) told(std::exchange(s->dropped, 0));  // caught up
        if (s->full && s->queue.size() < limits_.queue) {
            s->full = false;
            s->stall.cancel();
        }
        if (buffers.empty()) continue;
        auto [ec, n] = co_await asio::async_write(stream.socket(), buffers, asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        stats_.sent += in_flight.size();
        in_flight.clear();
        notes.clear();
        buffers.clear();
    }
}

void event_hub::close() {
    closed_ = true;
    for (auto& s : subscribers_) {
        s->wake.cancel();
        s->stall.cancel();
    }
}

event_stream_stats event_hub::stats() const {
    auto st = stats_;
    st.subscribers = subscribers_.size();
    return st;
}

}  // namespace monitord
