// Events to NATS (--nats): every event, as the JSON object --json prints, on subject
// monitord.<host>.<kind>, into a JetStream stream with --nats-stream. Publishing never blocks the
// event reader: events wait in a bounded queue (full: dropped and counted) for a sender thread
// that owns the NATS connection. The client's threads and the sender hand every result back to
// the io_context with asio::post; monitord's state is touched only there.
//
// With a stream, an event counts as published once JetStream acknowledges it; one whose
// acknowledgement is lost (the server died, JetStream not ready after a restart) is resent with
// the same message id until it is, and JetStream drops the copies it already stored. Message ids
// are <host>-<start>-<sequence>: the start time (nanoseconds since the epoch) makes a restarted
// monitord's ids new, so de-duplication never drops its events. Without a stream (core NATS),
// what the client buffered when a connection broke may be lost: at most once.
#pragma once

#include "metrics.hpp"
#include "options.hpp"

#include <bpfco/error.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <memory>
#include <span>

namespace monitord {

class nats_publisher {
public:
    /// Connects to opt.url (retrying in the background when no server answers yet) and starts the
    /// sender. Errors: a URL the client refuses, or a monitord built without libnats.
    /// Call once per process: finish() shuts the NATS library down.
    static bpfco::result<std::unique_ptr<nats_publisher>> start(boost::asio::any_io_executor io,
                                                                const nats_options& opt);
    virtual ~nats_publisher() = default;

    /// Queues one ring-buffer record (formatted here), or drops and counts it when the queue is
    /// full. Every record takes the next sequence number, so gaps in message ids are the drops.
    /// Never blocks. Only on the io_context's thread.
    virtual void publish(std::span<const std::byte> record) = 0;
    /// For /metrics. Only on the io_context's thread.
    virtual nats_metrics stats() const = 0;
    /// Stops taking events, sends what is queued for up to flush_timeout, counts the rest as
    /// dropped at exit and closes the connection. On the io_context's thread, after it stopped.
    virtual void finish() = 0;

    static constexpr std::chrono::milliseconds flush_timeout{500};
};

}  // namespace monitord
