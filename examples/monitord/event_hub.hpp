// GET /events: monitord's kernel events to many HTTP subscribers at once, each with its own
// filter and its own bounded queue. Everything runs on the daemon's io_context thread; the BPF
// consumer hands each record to publish(), which never waits: a subscriber that does not keep up
// loses events (counted, and told in-band once it catches up), and one that stays full past the
// stall limit is disconnected, so no subscriber can slow the kernel side or the others.
#pragma once

#include "metrics.hpp"

#include <bpfco/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace monitord {

/// What one subscriber asked for in the query string of GET /events.
struct event_request {
    unsigned kinds = 0;  ///< bit (1 << MONITORD_EXEC) etc.; 0: every kind
    std::optional<std::uint32_t> pid;
    std::optional<std::uint32_t> uid;  ///< only exec events carry a uid: with it, only execs match
    std::optional<std::string> comm;   ///< exact
    std::string path_prefix;           ///< exec filename or open path; connects never match a prefix
    bool ndjson = false;               ///< format=ndjson; default format=sse
};

/// Parses the query string (without '?', percent-encoded). Errors name the parameter and the
/// bad value: "kind 'exe': expected exec, open or connect", "unknown parameter 'foo'".
bpfco::result<event_request> parse_event_request(std::string_view query);

struct event_hub_limits {
    std::size_t queue = 1024;                         ///< events waiting per subscriber
    std::chrono::milliseconds stall_limit{30000};     ///< full this long: disconnected
    std::chrono::milliseconds heartbeat{15000};       ///< an SSE comment (NDJSON: an empty line) when idle
};

class event_hub {
public:
    explicit event_hub(event_hub_limits limits) : limits_(limits) {}
    event_hub(const event_hub&) = delete;
    event_hub& operator=(const event_hub&) = delete;

    /// Numbers the record (every kernel event gets the next sequence number, the SSE id) and
    /// queues it for each subscriber whose filter it passes. Never waits; records that
    /// format_event() rejects are not queued (the caller counts them).
    void publish(std::span<const std::byte> record);

    /// Answers one GET /events on `stream` (status line and headers included) and streams until
    /// the peer goes, the subscriber is cut off for stalling, or close(). `version` is the
    /// request's HTTP version (10 or 11).
    boost::asio::awaitable<void> stream(boost::beast::tcp_stream& stream, event_request request, unsigned version);

    /// Ends every stream: each writer stops after its current write; the sockets are the HTTP
    /// server's to close.
    void close();

    event_stream_stats stats() const;

    struct subscriber;

private:
    event_hub_limits limits_;
    std::uint64_t seq_ = 0;
    std::list<std::shared_ptr<subscriber>> subscribers_;
    event_stream_stats stats_;
    bool closed_ = false;
};

}  // namespace monitord
