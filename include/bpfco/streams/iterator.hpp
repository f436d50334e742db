// A BPF iterator's output as an Asio stream of bytes. Each stream is one pass of the iterator
// (a new bpf_iter_create() fd): the kernel runs the program for each object as the stream is read.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/attach/link.hpp>
#include <bpfco/unique_fd.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace bpfco {

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
/// Closing mid-pass is safe: the kernel drops the rest of the pass with the fd.
/// Thread safety: as Asio sockets (one stream, one thread or strand); one read at a time.
class iterator_stream {
public:
    /// The executor reads are posted to and complete on unless the handler has its own.
    using executor_type = boost::asio::any_io_executor;
    /// Completion signature of async_read_some: an error, or the bytes read.
    using completion_signature = void(boost::system::error_code, std::size_t);

    /// Starts a pass of the iterator that `iter` links (bpf_iter_create). The error names the link.
    static result<iterator_stream> create(const executor_type& ex, const link& iter);
    /// As create(), for code that uses exceptions: throws its error (as result::value()).
    iterator_stream(const executor_type& ex, const link& iter);

    /// Takes `o`'s pass; `o` is left closed.
    iterator_stream(iterator_stream&& o) noexcept : ex_(o.ex_), state_(std::move(o.state_)) {}
    /// Closes this pass (as close()), then takes `o`'s.
    iterator_stream& operator=(iterator_stream&& o) noexcept {
        if (this != &o) {
            close();
            ex_ = o.ex_;
            state_ = std::move(o.state_);
        }
        return *this;
    }
    iterator_stream(const iterator_stream&) = delete;
    iterator_stream& operator=(const iterator_stream&) = delete;
    /// Closes the pass as close() does.
    ~iterator_stream() { close(); }

    /// The executor given to create().
    executor_type get_executor() const noexcept { return ex_; }

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
        return boost::asio::async_compose<Token, completion_signature>(read_op(ex_, state_, first), token, ex_);
    }

    /// Ends the pass; a read not yet made completes with operation_aborted. Idempotent.
    void close() noexcept {
        if (state_) state_->fd.reset();
    }
    /// Not closed (nor moved from); a pass read to its end stays open until closed.
    bool is_open() const noexcept { return state_ && bool(state_->fd); }

private:
    struct state {
        unique_fd fd;
        bool pending = false;
    };

    struct read_op {
        read_op(executor_type e, std::shared_ptr<state> st, boost::asio::mutable_buffer b) noexcept
            : ex(std::move(e)), s(std::move(st)), buffer(b) {}
        executor_type ex;
        std::shared_ptr<state> s;
        boost::asio::mutable_buffer buffer;
        bool started = false;
        bool owner = false;  // this read set s->pending
        boost::system::error_code refused;  // why it was refused at initiation

        template <class Self>
        void operator()(Self& self) {
            namespace error = boost::asio::error;
            if (!started) {
                started = true;
                if (!s || !s->fd)
                    refused = error::bad_descriptor;
                else if (s->pending)
                    refused = error::already_started;
                else
                    s->pending = owner = true;
                self.reset_cancellation_state(boost::asio::enable_total_cancellation());
                return boost::asio::post(ex, std::move(self));
            }
            if (!owner) return self.complete(refused, 0);
            s->pending = false;
            if (!s->fd || self.cancelled() != boost::asio::cancellation_type::none)
                return self.complete(error::operation_aborted, 0);
            if (buffer.size() == 0) return self.complete({}, 0);
            ssize_t n;
            do n = ::read(s->fd.get(), buffer.data(), buffer.size());
            while (n < 0 && errno == EINTR);
            if (n < 0) return self.complete(boost::system::error_code(errno, boost::system::system_category()), 0);
            if (n == 0) return self.complete(error::eof, 0);
            self.complete({}, static_cast<std::size_t>(n));
        }
    };

    iterator_stream(executor_type ex, std::shared_ptr<state> s) noexcept : ex_(std::move(ex)), state_(std::move(s)) {}
    executor_type ex_;
    std::shared_ptr<state> state_;
};

}  // namespace bpfco
