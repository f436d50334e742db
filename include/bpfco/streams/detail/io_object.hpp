// The base every bpfco stream derives from: what an Asio I/O object owns (an executor, a state
// shared with its pending operations), its moves, close() and destruction. Each stream adds only
// its operations and options. Not a public header; include the stream.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <utility>

namespace bpfco::detail {

/// An errno value as Asio reports one (the system category, as asio::error::bad_descriptor).
inline boost::system::error_code errno_code(int e) noexcept {
    return boost::system::error_code(e, boost::system::system_category());
}

/// The one check at an operation's start: bad_descriptor when `s` is closed or null (moved
/// from), already_started while another operation of its kind is pending (`busy`), {} when it
/// may start. State provides `bool is_open() const` and, unless `busy` is given, `bool busy() const`.
template <class State>
boost::system::error_code start_error(const State* s, bool (State::*busy)() const = &State::busy) noexcept {
    if (!s || !s->is_open()) return boost::asio::error::bad_descriptor;
    if ((s->*busy)()) return boost::asio::error::already_started;
    return {};
}

/// Completes `handler` through `ex` with `ec` and default values: an operation refused at its start.
template <class... Values, class Executor>
void refuse(const Executor& ex, boost::asio::any_completion_handler<void(boost::system::error_code, Values...)> handler,
            boost::system::error_code ec) {
    boost::asio::post(ex, boost::asio::append(std::move(handler), ec, Values()...));
}

/// Owns a stream's executor and state. State provides `bool is_open() const` and
/// `void close() noexcept` (idempotent; a pending operation completes with operation_aborted).
/// The members that touch State are defined below the class, outside it, so that a stream whose
/// State is defined in src/ instantiates them there (`extern template` in its header).
template <class State>
class io_object {
public:
    /// The executor operations complete on unless the token's handler has its own.
    using executor_type = boost::asio::any_io_executor;

    io_object(const io_object&) = delete;
    io_object& operator=(const io_object&) = delete;

    /// The executor given at construction; valid after a move too.
    executor_type get_executor() const noexcept { return ex_; }
    /// False after close() or a move.
    bool is_open() const noexcept;
    /// Closes: a pending operation completes with operation_aborted, later ones fail with
    /// bad_descriptor. Idempotent.
    void close() noexcept;

protected:
    io_object(executor_type ex, std::shared_ptr<State> s) noexcept : ex_(std::move(ex)), state_(std::move(s)) {}
    /// Takes `o`'s state; `o` keeps its executor and is left closed: its operations fail with
    /// bad_descriptor.
    io_object(io_object&& o) noexcept : ex_(o.ex_), state_(std::move(o.state_)) {}
    /// Closes this object (as close()), then takes `o`'s state and executor.
    io_object& operator=(io_object&& o) noexcept;
    /// Closes: a pending operation completes with operation_aborted.
    ~io_object();

    /// The state; null once moved from.
    State* state() const noexcept { return state_.get(); }

    /// Starts an operation of completion signature `Signature` with `token`: calls
    /// `Start(executor, state, handler, args...)`, a function of the stream's source that checks
    /// start_error() first (`state` is null once moved from). A direct call: no indirection.
    template <class Signature, auto Start, class Token, class... Args>
    auto async_start(Token&& token, Args... args) {
        return boost::asio::async_initiate<Token, Signature>(initiation<Signature, Start>{ex_, state_}, token,
                                                             std::move(args)...);
    }

private:
    template <class Signature, auto Start>
    struct initiation {
        executor_type ex;
        std::shared_ptr<State> state;

        template <class Handler, class... Args>
        void operator()(Handler&& handler, Args&&... args) const {
            Start(ex, state, boost::asio::any_completion_handler<Signature>(std::forward<Handler>(handler)),
                  std::forward<Args>(args)...);
        }
    };

    // Outside the state, so that a moved-from object keeps it, as Asio's I/O objects do.
    executor_type ex_;
    std::shared_ptr<State> state_;
};

template <class State>
bool io_object<State>::is_open() const noexcept {
    return state_ && state_->is_open();
}

template <class State>
void io_object<State>::close() noexcept {
    if (state_) state_->close();
}

template <class State>
io_object<State>& io_object<State>::operator=(io_object&& o) noexcept {
    if (this != &o) {
        close();
        ex_ = o.ex_;
        state_ = std::move(o.state_);
    }
    return *this;
}

template <class State>
io_object<State>::~io_object() {
    close();
}

}  // namespace bpfco::detail
