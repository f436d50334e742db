// program_watch: program_sampler as an Asio stream in map_watch's style: every interval a
// snapshot of every program's run count and run time with deltas and rates, and the programs
// that appeared or disappeared since the one before.
#pragma once

#include <bpfco/analysis/kernel_objects.hpp>
#include <bpfco/error.hpp>
#include <bpfco/streams/detail/io_object.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <type_traits>
#include <utility>

namespace bpfco {

namespace detail {
struct program_watch_state;
// Instantiated in src/analysis/program_watch.cpp, where program_watch_state is defined.
extern template class io_object<program_watch_state>;
}  // namespace detail

/// Every program on the host, sampled on a schedule.
///
/// Schedule: create() takes the baseline snapshot at once; the first async_receive completes one
/// interval after it, each later one at the previous deadline plus the interval (drift-free,
/// missed deadlines skipped, as map_watch). Rates divide by the measured time between snapshots.
/// The snapshot itself is synchronous on the executor (four bpf() calls per program). Counts grow
/// only while run-time statistics are on: hold a run_time_stats while watching.
///
/// Completion Signature: `void(boost::system::error_code, program_stats)`. Errors:
/// `operation_aborted` after cancel(), close(), destruction or per-operation (terminal)
/// cancellation, and the watch stays on its schedule; `bad_descriptor` when started after close
/// or a move; `already_started` while another receive is pending; otherwise the errno of a failed
/// snapshot (create() reports the same failure with its message). The snapshot is empty whenever
/// there is an error.
///
/// Thread Safety: distinct objects are safe; a shared object is not (one thread or strand).
class program_watch : public detail::io_object<detail::program_watch_state> {
public:
    using clock = std::chrono::steady_clock;  ///< the clock of the schedule
    /// Completion signature of async_receive: an error, or the next snapshot.
    using completion_signature = void(boost::system::error_code, program_stats);

    /// Takes the baseline snapshot and watches every `interval` (more than 0: else EINVAL).
    /// EPERM names CAP_SYS_ADMIN.
    static result<program_watch> create(const executor_type& ex, clock::duration interval);
    /// As create(), throwing bpfco::error_exception on failure.
    program_watch(const executor_type& ex, clock::duration interval);
    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    program_watch(ExecutionContext& ctx, clock::duration interval)
        : program_watch(executor_type(ctx.get_executor()), interval) {}
    /// Takes `o`'s schedule; `o` keeps its executor and is left closed.
    program_watch(program_watch&& o) noexcept = default;
    /// Closes this watch (as close()), then takes `o`'s.
    program_watch& operator=(program_watch&& o) noexcept = default;
    /// Closes: a pending async_receive completes with operation_aborted.
    ~program_watch() = default;

    /// The interval (0 once moved from).
    clock::duration interval() const noexcept;

    /// Completes with the next snapshot at the next deadline (see the class comment).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return this->template async_start<completion_signature, &start_receive>(std::forward<Token>(token));
    }

    /// Completes a pending async_receive with operation_aborted; the schedule is kept.
    void cancel();

private:
    program_watch(executor_type ex, std::shared_ptr<detail::program_watch_state> s) noexcept
        : io_object(std::move(ex), std::move(s)) {}
    static void start_receive(const executor_type& ex, const std::shared_ptr<detail::program_watch_state>& state,
                              boost::asio::any_completion_handler<completion_signature> handler);
};

}  // namespace bpfco
