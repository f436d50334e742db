// monitord's Prometheus text exposition (format 0.0.4), rendered from one consistent snapshot.
#pragma once

#include "monitord.bpf.types.hpp"  // monitord::monitord_packets
#include "monitord_events.h"

#include <bpfco/analysis/histogram.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace monitord {

/// HTTP connections monitord refused or cut, by reason (answered 404/405 are not refusals).
struct http_refusals {
    std::uint64_t over_cap = 0;        ///< past --max-connections: 503
    std::uint64_t over_address_cap = 0;  ///< past the per-client-address cap: 503
    std::uint64_t header_timeout = 0;  ///< header (or the reading of its answer) not done in time
    std::uint64_t bad_request = 0;     ///< 400 malformed, 431 header too large, 413 with a body
    std::uint64_t no_fds = 0;          ///< accept failed for lack of fds or memory (each retry)
};

/// GET /events: subscribers now and what became of the events queued for them.
struct event_stream_stats {
    std::uint64_t subscribers = 0;
    std::uint64_t sent = 0;                  ///< events written to a subscriber
    std::uint64_t dropped_queue_full = 0;    ///< not queued: the subscriber's queue was full
    std::uint64_t dropped_disconnected = 0;  ///< queued, then the subscriber's connection ended
    std::uint64_t stalled = 0;               ///< subscribers cut off for staying full past the limit
};

/// What one of monitord's BPF programs has cost since it was loaded (counted while the kernel's
/// run-time statistics are on).
struct program_cost {
    std::string program;
    std::uint64_t runs = 0;
    std::chrono::nanoseconds run_time{};
};

/// Publishing to NATS (--nats): what was published, resent and dropped, and the connection.
struct nats_metrics {
    std::uint64_t published = 0;   ///< stored by JetStream (acknowledged), or (core NATS) handed to the connection
    std::uint64_t resent = 0;      ///< sent again after a lost or failed acknowledgement
    std::uint64_t duplicates = 0;  ///< resent copies JetStream had already stored (and did not store again)
    std::uint64_t dropped_queue_full = 0;  ///< the publishing queue (--nats-queue) was full
    std::uint64_t dropped_at_exit = 0;     ///< still unpublished when monitord stopped
    std::uint64_t queued = 0;              ///< waiting now (queued or awaiting acknowledgement)
    std::uint64_t reconnects = 0;
    bool connected = false;
};

struct metrics {
    std::array<std::array<monitord_packets, MONITORD_PROTOS>, MONITORD_DIRECTIONS> packets{};
    std::uint64_t blocked_packets = 0;
    std::uint64_t exec_events = 0, open_events = 0, connect_events = 0;
    std::uint64_t events_dropped = 0;  ///< the BPF side could not reserve ring space
    std::uint64_t output_dropped = 0;          ///< event lines not written: stdout too slow or gone
    std::uint64_t log_dropped = 0;             ///< log lines not written: stderr closed or gone
    std::uint64_t record_type_mismatches = 0;  ///< ring records too short for the event type read
    http_refusals http;
    event_stream_stats stream;
    bpfco::histogram lifetime_us = bpfco::histogram::log2({});  ///< exec-to-exit, microseconds
    std::uint64_t lifetime_sum_us = 0;
    /// Empty without --bpf-stats: the series are then left out, not exported as zeros.
    std::vector<program_cost> programs;
    /// Empty without --nats.
    std::optional<nats_metrics> nats;
};

std::string render_prometheus(const metrics& m);

}  // namespace monitord
