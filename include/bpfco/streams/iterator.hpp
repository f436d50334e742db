// A BPF iterator's output as an Asio stream of bytes. Each stream is one pass of the iterator
// (a new bpf_iter_create() fd): the kernel runs the program for each object as the stream is read.
#pragma once

#include <bpfco/attach/link.hpp>
#include <bpfco/error.hpp>
#include <bpfco/streams/detail/io_object.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace bpfco {

namespace detail {
struct iterator_state;
// Instantiated in src/streams/iterator.cpp, where iterator_state is defined.
extern template class io_object<iterator_state>;
}  // namespace detail

/// One pass over a BPF iterator (program::attach_iter()) as an Asio AsyncReadStream, so that
/// `asio::async_read_until(stream, asio::dynamic_buffer(text), '\n', use_awaitable)` reads it a
/// line (record) at a time and `asio::async_read` reads it to the end (which completes with
/// `asio::error::eof`, as with sockets).
///
/// An iterator fd is not pollable: a read runs the BPF program for the next objects and returns
/// what it printed. Each read is therefore posted to the executor and made there, so the handler
/// never runs inside the initiating function and other work interleaves between reads.
///
/// Completion Signature: `void(boost::system::error_code, std::size_t)`. Errors:
/// `asio::error::eof` at the end; `operation_aborted` when cancelled or closed before the read
/// ran (nothing was read); `bad_descriptor` after close(); `already_started` when a read is
/// pending; otherwise the errno of read(). Per-operation cancellation: terminal, partial and
/// total, all before the read runs (a read, once made, completes with its bytes).
///
/// close() ends the pass (idempotent; the kernel drops the rest with the fd); is_open() stays
/// true for a pass read to its end until it is closed.
/// Thread safety: as Asio sockets (one stream, one thread or strand); one read at a time.
class iterator_stream : public detail::io_object<detail::iterator_state> {
public:
    /// Completion signature of async_read_some: an error, or the bytes read.
    using completion_signature = void(boost::system::error_code, std::size_t);

    /// Starts a pass of the iterator that `iter` links (bpf_iter_create). The error names the link.
    static result<iterator_stream> create(const executor_type& ex, const link& iter);
    /// As create(), throwing bpfco::error_exception on failure.
    iterator_stream(const executor_type& ex, const link& iter);
    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    iterator_stream(ExecutionContext& ctx, const link& iter) : iterator_stream(executor_type(ctx.get_executor()), iter) {}
    /// Takes `o`'s pass; `o` keeps its executor and is left closed.
    iterator_stream(iterator_stream&& o) noexcept = default;
    /// Closes this pass (as close()), then takes `o`'s.
    iterator_stream& operator=(iterator_stream&& o) noexcept = default;
    /// Closes the pass: a read not yet made completes with operation_aborted.
    ~iterator_stream() = default;

    /// Reads what the iterator prints for its next objects into the first non-empty buffer of
    /// `buffers` (an empty sequence reads nothing and completes with 0 bytes). See the class for errors.
    template <class MutableBufferSequence,
              BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_read_some(const MutableBufferSequence& buffers,
                         Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        boost::asio::mutable_buffer first;
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
             ++it) {
            first = *it;
            if (first.size() != 0) break;
        }
        return this->template async_start<completion_signature, &start_read>(std::forward<Token>(token), first);
    }

private:
    iterator_stream(executor_type ex, std::shared_ptr<detail::iterator_state> s) noexcept
        : io_object(std::move(ex), std::move(s)) {}
    static void start_read(const executor_type& ex, const std::shared_ptr<detail::iterator_state>& state,
                           boost::asio::any_completion_handler<completion_signature> handler,
                           boost::asio::mutable_buffer buffer);
};

}  // namespace bpfco
