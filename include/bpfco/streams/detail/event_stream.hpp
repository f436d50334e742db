// The public face ring_buffer and perf_buffer share: an Asio I/O object over a stream state
// (src/streams/async_stream.hpp) that delivers batches. Each stream derives from it and adds only what
// differs: how it opens, its options and its counters. Not a public header; include the stream.
#pragma once

#include <bpfco/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <utility>

namespace bpfco::detail {

/// Defined once in src/streams/async_stream.hpp and instantiated for each stream in its source.
template <class State, class Batch>
class event_stream {
public:
    /// The executor operations complete on unless the token's handler has its own.
    using executor_type = boost::asio::any_io_executor;
    /// Completion signature of async_receive: an error, or a non-empty batch.
    using completion_signature = void(boost::system::error_code, Batch);

    event_stream(const event_stream&) = delete;
    event_stream& operator=(const event_stream&) = delete;

    /// The executor given at construction; valid after a move too.
    executor_type get_executor() const noexcept { return ex_; }

    /// Receives what is available now, waiting for a wake-up when there is nothing (the stream's
    /// class comment lists the errors).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return boost::asio::async_initiate<Token, completion_signature>(initiate_receive(ex_, state_), token);
    }

    /// Reads what is there now without waiting; the batch may be empty. Fails with bad_message
    /// on a record that cannot be, with EBADF when closed or moved from. Do not mix with a
    /// pending async_receive.
    result<Batch> try_receive();
    /// Looks now and, when records are there, completes a pending receive with them: the
    /// explicit read for records whose wake-up the producer held back.
    void flush();
    /// Closes the stream; a pending receive completes with operation_aborted. Idempotent.
    void close() noexcept;
    /// False after close() or a move.
    bool is_open() const noexcept;

protected:
    event_stream(executor_type ex, std::shared_ptr<State> s) noexcept : ex_(std::move(ex)), state_(std::move(s)) {}
    /// Takes `o`'s state; `o` keeps its executor and is left closed: its operations fail with
    /// bad_descriptor (EBADF), its counters read 0.
    event_stream(event_stream&& o) noexcept : ex_(o.ex_), state_(std::move(o.state_)) {}
    /// Closes this stream (as close()), then takes `o`'s state and executor.
    event_stream& operator=(event_stream&& o) noexcept;
    /// Closes: a pending receive completes with operation_aborted.
    ~event_stream();

    /// The stream's state; null once moved from.
    State* state() const noexcept { return state_.get(); }

private:
    class initiate_receive {
    public:
        initiate_receive(executor_type ex, std::shared_ptr<State> s) noexcept : ex_(std::move(ex)), state_(std::move(s)) {}
        template <class Handler>
        void operator()(Handler&& handler) const {
            start(ex_, state_.get(),
                  boost::asio::any_completion_handler<completion_signature>(std::forward<Handler>(handler)));
        }

    private:
        executor_type ex_;
        std::shared_ptr<State> state_;
    };
    static void start(const executor_type& ex, State* state,
                      boost::asio::any_completion_handler<completion_signature> handler);

    // Outside the state, so that a moved-from object keeps it, as Asio's I/O objects do.
    executor_type ex_;
    std::shared_ptr<State> state_;
};

}  // namespace bpfco::detail
