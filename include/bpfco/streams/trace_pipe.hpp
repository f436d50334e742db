// bpf_printk() output read as an Asio stream of lines, for BPF C that does not use bpfco_log().
// Reading a trace_pipe consumes what it reads: read a tracing instance of your own
// (/sys/kernel/tracing/instances/NAME, with events/bpf_trace/bpf_trace_printk enabled there)
// when other tools read the global one.
#pragma once

#include <bpfco/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <string>
#include <vector>

namespace bpfco {

/// A trace_pipe as an Asio I/O object whose receive completes with whole lines.
///
/// Completion Signature: `void(boost::system::error_code, std::vector<std::string>)`: at least
/// one line (without its newline), or an error: `operation_aborted` when cancelled or closed.
/// Per-operation cancellation: as the underlying descriptor's read (a cancelled receive has
/// consumed nothing that a later receive will not see: partial lines are kept in the object).
/// Thread safety: as Asio sockets (one object, one thread or strand); one receive at a time.
class trace_pipe {
public:
    /// The executor receives complete on unless the handler has its own.
    using executor_type = boost::asio::any_io_executor;
    /// Completion signature of async_receive: an error, or at least one line.
    using completion_signature = void(boost::system::error_code, std::vector<std::string>);

    /// Opens `path` (default: the global trace_pipe; tracefs is mounted if needed). The error
    /// names the path and the reason (a missing privilege included).
    static result<trace_pipe> create(const executor_type& ex,
                                     const std::string& path = "/sys/kernel/tracing/trace_pipe");

    /// Takes `o`'s pipe; `o` is left moved-from (operations fail with bad_descriptor).
    trace_pipe(trace_pipe&& o) noexcept : ex_(o.ex_), state_(std::move(o.state_)) {}
    /// Closes this pipe, then takes `o`'s.
    trace_pipe& operator=(trace_pipe&& o) noexcept {
        if (this != &o) {
            close();
            ex_ = o.ex_;
            state_ = std::move(o.state_);
        }
        return *this;
    }

    /// The executor given to create() (kept after a move).
    executor_type get_executor() const noexcept { return ex_; }

    /// Waits, without blocking a thread, until whole lines are available and completes with all
    /// of them; the rest of a partial line waits for the next receive.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return boost::asio::async_compose<Token, completion_signature>(receive_op{ex_, state_}, token, ex_);
    }

    /// A pending receive completes with operation_aborted; lines not yet received are lost.
    void close() noexcept {
        boost::system::error_code ignored;
        if (state_) state_->pipe.close(ignored);
    }
    /// Not closed.
    bool is_open() const noexcept { return state_ && state_->pipe.is_open(); }

private:
    struct state {
        explicit state(const executor_type& ex) : pipe(ex) {}
        boost::asio::posix::stream_descriptor pipe;
        std::string partial;  // bytes after the last newline read
        char buf[16384];
    };
    // Moves the complete lines out of s.partial.
    static std::vector<std::string> take_lines(state& s);

    struct receive_op {
        executor_type ex;
        std::shared_ptr<state> s;
        bool started = false;
        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
            if (!started && !s) {
                started = true;
                const auto e = ex;
                return boost::asio::post(e, boost::asio::append(std::move(self), boost::asio::error::bad_descriptor, std::size_t{0}));
            }
            started = true;
            if (ec) return self.complete(ec, {});
            s->partial.append(s->buf, n);
            auto lines = take_lines(*s);
            if (!lines.empty()) return self.complete({}, std::move(lines));
            s->pipe.async_read_some(boost::asio::buffer(s->buf), std::move(self));
        }
    };

    trace_pipe(executor_type ex, std::shared_ptr<state> s) noexcept : ex_(std::move(ex)), state_(std::move(s)) {}
    executor_type ex_;
    std::shared_ptr<state> state_;
};

}  // namespace bpfco
