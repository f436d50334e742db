// The receive machinery ring_buffer and perf_buffer share: one pending operation, a wake-up fd
// registered with the reactor, an optional long-lived poll timer, per-operation cancellation.
// Derived provides `result<Batch> take()` (everything readable now, possibly empty) and
// `bool may_have_records()` (a cheap look at the positions: false only when take() would find
// nothing).
//
// Syscalls: a receive started from inside the completion of the previous one (a coroutine's
// loop) is served by that completion's own check, with no pass through the reactor; a receive
// that finds nothing waits at once. What remains per sleep is the reactor's epoll_wait: the
// wake-up fd stays registered (reactor_wait.hpp), with no epoll_ctl per wait.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/streams/detail/event_stream.hpp>

#include "streams/reactor_wait.hpp"

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bpfco::detail {

/// What the execution context's shutdown does to a stream (see stream_registry).
class stream_shutdown {
public:
    virtual void shutdown_io() noexcept = 0;

protected:
    ~stream_shutdown() = default;
};

/// A service on the stream's execution context, so that destroying the context with a receive
/// pending destroys the pending handler, as Asio does with its own operations. Without it the
/// handler (a coroutine frame that may own the very stream) and the stream's state keep each
/// other alive: the ring mapping and both fds leaked (found by tests/test_faults.cpp).
class stream_registry final : public boost::asio::execution_context::service {
public:
    static inline boost::asio::execution_context::id id;
    explicit stream_registry(boost::asio::execution_context& ctx) : service(ctx) {}

    void add(std::weak_ptr<stream_shutdown> s) {
        std::lock_guard lock(mutex_);
        std::erase_if(streams_, [](const auto& w) { return w.expired(); });
        streams_.push_back(std::move(s));
    }

private:
    void shutdown() override {
        std::vector<std::weak_ptr<stream_shutdown>> streams;
        {
            std::lock_guard lock(mutex_);
            streams.swap(streams_);
        }
        // One at a time, each kept alive while it drops its handler (which may destroy others).
        for (auto& w : streams)
            if (auto s = w.lock()) s->shutdown_io();
    }

    std::mutex mutex_;
    std::vector<std::weak_ptr<stream_shutdown>> streams_;
};

template <class Derived, class Batch>
class async_stream : public std::enable_shared_from_this<Derived>, public stream_shutdown {
public:
    using error_code = boost::system::error_code;
    using handler_type = boost::asio::any_completion_handler<void(error_code, Batch)>;

    async_stream(const boost::asio::any_io_executor& ex, std::chrono::steady_clock::duration poll_interval)
        : ex_(ex), poll_interval_(poll_interval),
          wake_(boost::asio::query(ex, boost::asio::execution::context)), poll_(ex) {}

    const boost::asio::any_io_executor& executor() const noexcept { return ex_; }
    bool is_open() const noexcept { return !closed_; }
    bool busy() const noexcept { return pending_.has_value(); }

    /// Starts a receive that event_stream::start found may start (start_error()).
    void start(handler_type h) {
        pending_.emplace(std::move(h));
        work_ = boost::asio::prefer(boost::asio::get_associated_executor(*pending_, ex_),
                                    boost::asio::execution::outstanding_work.tracked);
        slot_ = boost::asio::get_associated_cancellation_slot(*pending_);
        if (slot_.is_connected()) slot_.template emplace<canceller>(this);
        // Started by the handler that completing() is invoking: check() takes it up when the
        // handler returns.
        if (completing_) return;
        // Records are taken only when the handler is invoked right after (check() dispatches),
        // never at initiation: a batch posted here could not be taken back if the operation is
        // cancelled before it runs (the loser of `a || b`), and its records would be lost.
        // No fence here: a wait makes the fence and looks again before it sleeps.
        if (derived().may_have_records())
            boost::asio::post(ex_, [self = this->shared_from_this()] { self->check(true); });
        else
            wait();
    }

    /// Completes the pending receive when there is something to read; otherwise waits on. With
    /// may_dispatch, a receive the handler starts inline is served here too, a bounded number of
    /// times so that a stream that never runs dry cannot starve the executor's other handlers.
    void check(bool may_dispatch) {
        for (int inline_rounds = 0; pending_ && !closed_; ++inline_rounds) {
            if (inline_rounds == max_inline_rounds) {
                boost::asio::post(ex_, [self = this->shared_from_this()] { self->check(true); });
                return;
            }
            auto b = derived().take();
            if (!b) return complete(bad_message(), {}, may_dispatch);
            if (b.value().empty()) {
                // Released before the last look: an empty perf batch is open until then, and the
                // look would take it for records.
                b.value().release();
                // The fence and a last look before sleeping: a new wait makes them as it starts
                // (wait_ready()), a wait already outstanding needs them here. A delivery makes none.
                if (waiting_ && wait_ready()) continue;
                return wait();
            }
            if (!may_dispatch) return complete({}, std::move(b).value(), false);
            // Cleared on the way out however the handler leaves (it may throw through run()).
            struct clear_on_exit {
                bool& flag;
                ~clear_on_exit() { flag = false; }
            } clear{completing_};
            completing_ = true;
            complete({}, std::move(b).value(), true);
        }
    }

    void close() noexcept {
        if (closed_) return;
        closed_ = true;
        wake_.close();
        poll_.cancel();
        if (pending_) complete(boost::asio::error::operation_aborted, {}, false);
    }

    /// The execution context is being destroyed: its queues are discarded, so the pending handler
    /// is destroyed without being invoked, and the stream is closed.
    void shutdown_io() noexcept override {
        closed_ = true;
        // While the reactor is still there: a stream may outlive its execution context. The
        // wait's operation, posted aborted, is destroyed with the context's queue.
        wake_.close();
        auto h = std::move(pending_);
        pending_.reset();
        slot_ = {};
        auto work = std::move(work_);
        // h and work are destroyed here, outside of our members: the handler may own this stream.
    }

protected:
    /// Registers the fd whose readability means "look again" (takes ownership of it).
    result<void> assign_wake_fd(int fd, std::string_view what) {
        if (int err = wake_.assign(fd)) {
            ::close(fd);
            return failure(err, std::string(what) + ": registering with the reactor: " + errno_code(err).message());
        }
        boost::asio::use_service<stream_registry>(boost::asio::query(ex_, boost::asio::execution::context))
            .add(std::weak_ptr<stream_shutdown>(this->shared_from_this()));
        return boost::outcome_v2::success();
    }
    int wake_fd() noexcept { return wake_.native_handle(); }

private:
    friend class reactor_wait<async_stream>;

    struct canceller {
        // A constructor, not an aggregate: emplace() constructs with parentheses, which clang
        // before 16 does not allow for aggregates.
        explicit canceller(async_stream* s) noexcept : stream(s) {}
        async_stream* stream;
        void operator()(boost::asio::cancellation_type) const {
            // Every type of cancellation is safe: a pending receive has taken no record.
            if (stream->pending_) stream->complete(boost::asio::error::operation_aborted, {}, false);
        }
    };

    Derived& derived() noexcept { return static_cast<Derived&>(*this); }
    static error_code bad_message() { return errno_code(EBADMSG); }

    static void fence() noexcept {
        // seq_cst: orders our last consumer-position store (batch release) before the loads of
        // the producer position that the last look before a sleep makes. The kernel orders its record submit before
        // its consumer-position load the same way, so either it sees us caught up and wakes us,
        // or we see its record now. Without it an edge-triggered reactor can sleep on a record
        // that landed between the commit and the wait.
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }

    void wait() {
        if (!waiting_) {
            waiting_ = true;
            wake_.start(this->shared_from_this());
        }
        if (poll_interval_.count() > 0 && !polling_) {
            polling_ = true;
            poll_.expires_after(poll_interval_);
            poll_.async_wait([self = this->shared_from_this()](error_code ec) { self->on_poll(ec); });
        }
    }

    // The re-check before a sleep: a wait's first look (under the reactor's lock for the fd),
    // or check()'s when a wait is outstanding already.
    bool wait_ready() noexcept {
        fence();
        return derived().may_have_records();
    }

    // From the reactor, on whichever thread ran it: on to the stream's executor (inline when
    // this thread runs it, the common case).
    static void on_wake(std::shared_ptr<async_stream> self, error_code ec) {
        const auto& ex = self->ex_;
        boost::asio::dispatch(ex, [self = std::move(self), ec] { self->woken(ec); });
    }

    void woken(error_code ec) {
        waiting_ = false;
        if (!pending_ || closed_) return;
        // operation_aborted is our own cancel after a completion without a wake-up (poll, flush,
        // cancellation) that raced with a new receive: look again and wait on.
        if (ec && ec != boost::asio::error::operation_aborted) return complete(ec, {}, true);
        check(true);
    }

    void on_poll(error_code ec) {
        // Stops while no receive is pending, so an idle stream keeps no timer armed.
        if (ec || closed_ || !pending_) {
            polling_ = false;
            return;
        }
        check(true);
        // expires_at(previous + interval): no drift from the time the check took.
        poll_.expires_at(poll_.expiry() + poll_interval_);
        poll_.async_wait([self = this->shared_from_this()](error_code e) { self->on_poll(e); });
    }

    static constexpr int max_inline_rounds = 16;

    void complete(error_code ec, Batch b, bool may_dispatch) {
        auto h = std::move(*pending_);
        pending_.reset();
        if (slot_.is_connected()) slot_.clear();
        slot_ = {};
        auto work = std::move(work_);
        // An outstanding wait would keep io_context::run() from returning. On the wake-up path it
        // has completed already, so this costs nothing there.
        if (waiting_) wake_.cancel();
        if (may_dispatch)
            boost::asio::dispatch(ex_, boost::asio::append(std::move(h), ec, std::move(b)));
        else
            boost::asio::post(ex_, boost::asio::append(std::move(h), ec, std::move(b)));
    }

    boost::asio::any_io_executor ex_;
    std::chrono::steady_clock::duration poll_interval_;
    reactor_wait<async_stream> wake_;
    boost::asio::steady_timer poll_;
    bool waiting_ = false;
    bool polling_ = false;
    bool closed_ = false;
    bool completing_ = false;  // check() is invoking a handler inline
    std::optional<handler_type> pending_;
    boost::asio::any_completion_executor work_;
    boost::asio::cancellation_slot slot_;
};

// ---- the public face (include/bpfco/streams/detail/event_stream.hpp), instantiated by each stream ----
// State names itself for errors with `static constexpr std::string_view what`.

template <class State, class Batch>
void event_stream<State, Batch>::start(const executor_type& ex, const std::shared_ptr<State>& state,
                                       boost::asio::any_completion_handler<completion_signature> handler) {
    if (auto ec = start_error(state.get())) return refuse(ex, std::move(handler), ec);
    state->start(std::move(handler));
}

template <class State, class Batch>
result<Batch> event_stream<State, Batch>::try_receive() {
    if (!this->is_open()) return failure(EBADF, std::string(State::what) + ": closed");
    // As asio::experimental::channel::try_receive with a receiver waiting: nothing is taken, so
    // the pending receive still gets the records first, in order.
    if (this->state()->busy()) return Batch();
    return this->state()->take();
}

template <class State, class Batch>
void event_stream<State, Batch>::flush() {
    if (auto* s = this->state()) s->check(false);
}

}  // namespace bpfco::detail
