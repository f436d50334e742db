// bpf_printk() output read as an Asio stream of lines, for BPF C that does not use bpfco_log().
// Reading a trace_pipe consumes what it reads: read a tracing instance of your own
// (/sys/kernel/tracing/instances/NAME, with events/bpf_trace/bpf_trace_printk enabled there)
// when other tools read the global one.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/streams/detail/io_object.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace bpfco {

namespace detail {
struct trace_pipe_state;
// Instantiated in src/streams/trace_pipe.cpp, where trace_pipe_state is defined.
extern template class io_object<trace_pipe_state>;
}  // namespace detail

/// A trace_pipe as an Asio I/O object whose receive completes with whole lines.
///
/// Completion Signature: `void(boost::system::error_code, std::vector<std::string>)`: at least
/// one line (without its newline), or an error: `operation_aborted` when cancelled, closed or
/// destroyed while pending; `bad_descriptor` when started after close or a move;
/// `already_started` while another receive is pending; otherwise the errno of read().
/// Per-operation cancellation: as the underlying descriptor's read (a cancelled receive has
/// consumed nothing that a later receive will not see: partial lines are kept in the object).
/// Thread safety: as Asio sockets (one object, one thread or strand); one receive at a time.
class trace_pipe : public detail::io_object<detail::trace_pipe_state> {
public:
    /// Completion signature of async_receive: an error, or at least one line.
    using completion_signature = void(boost::system::error_code, std::vector<std::string>);

    /// Opens `path` (default: the global trace_pipe; tracefs is mounted if needed). The error
    /// names the path and the reason (a missing privilege included).
    static result<trace_pipe> create(const executor_type& ex, const std::string& path = default_path);
    /// As create(), throwing bpfco::error_exception on failure.
    explicit trace_pipe(const executor_type& ex, const std::string& path = default_path);
    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    explicit trace_pipe(ExecutionContext& ctx, const std::string& path = default_path)
        : trace_pipe(executor_type(ctx.get_executor()), path) {}
    /// Takes `o`'s pipe; `o` keeps its executor and is left closed.
    trace_pipe(trace_pipe&& o) noexcept = default;
    /// Closes this pipe (as close()), then takes `o`'s.
    trace_pipe& operator=(trace_pipe&& o) noexcept = default;
    /// Closes: a pending receive completes with operation_aborted; lines not yet received are lost.
    ~trace_pipe() = default;

    /// Waits, without blocking a thread, until whole lines are available and completes with all
    /// of them; the rest of a partial line waits for the next receive.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return this->template async_start<completion_signature, &start_receive>(std::forward<Token>(token));
    }

private:
    static constexpr const char* default_path = "/sys/kernel/tracing/trace_pipe";

    trace_pipe(executor_type ex, std::shared_ptr<detail::trace_pipe_state> s) noexcept
        : io_object(std::move(ex), std::move(s)) {}
    static void start_receive(const executor_type& ex, const std::shared_ptr<detail::trace_pipe_state>& state,
                              boost::asio::any_completion_handler<completion_signature> handler);
};

}  // namespace bpfco
