// What ring_buffer, perf_buffer and xsk_socket share on top of io_object: a receive that
// delivers batches, served by the machinery of src/streams/async_stream.hpp. Not a public
// header; include the stream.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/streams/detail/io_object.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <utility>

namespace bpfco::detail {

/// The members are defined once in src/streams/async_stream.hpp and instantiated for each
/// stream in its source.
template <class State, class Batch>
class event_stream : public io_object<State> {
public:
    using typename io_object<State>::executor_type;
    /// Completion signature of async_receive: an error, or a non-empty batch.
    using completion_signature = void(boost::system::error_code, Batch);

    /// Receives what is available now, waiting for a wake-up when there is nothing (the stream's
    /// class comment lists the errors).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return this->template async_start<completion_signature, &event_stream::start>(std::forward<Token>(token));
    }

    /// Takes what is there now, synchronously: the same batch, limits and counting as
    /// async_receive, with no post and no syscall, never waiting. An empty batch means nothing
    /// is ready; it is also what a call makes while an async_receive is pending (as
    /// asio::experimental::channel::try_receive with a receiver waiting), leaving the records to
    /// that receive. Fails with bad_message on a record that cannot be, with EBADF when closed
    /// or moved from. The loop that costs least: try_receive() until it comes back empty, then
    /// co_await async_receive (docs/streams.md). Thread safety as the stream's.
    result<Batch> try_receive();
    /// Looks now and, when records are there, completes a pending receive with them: the
    /// explicit read for records whose wake-up the producer held back.
    void flush();

protected:
    event_stream(executor_type ex, std::shared_ptr<State> s) noexcept : io_object<State>(std::move(ex), std::move(s)) {}

private:
    static void start(const executor_type& ex, const std::shared_ptr<State>& state,
                      boost::asio::any_completion_handler<completion_signature> handler);
};

}  // namespace bpfco::detail
