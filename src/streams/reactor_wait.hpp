// A wait for readability on a descriptor that stays registered with Asio's reactor, for the
// streams' wake-up fds (ring buffer map fd, perf buffer epoll fd).
//
// Why Asio internals: posix::stream_descriptor::async_wait is a non-speculative reactor
// operation, and Asio's epoll reactor re-arms the descriptor with an epoll_ctl(EPOLL_CTL_MOD)
// for every one of them (epoll_reactor.ipp, start_op): one syscall per sleep that libbpf's
// readers do not make. Here the wait is a reactor_op of our own, started speculatively: its
// first perform() runs at once, under the reactor's lock for the descriptor, and looks at the
// ring (Owner::wait_ready()); only when that finds nothing is it queued. The descriptor stays
// registered edge-triggered (Asio's default), so a wake-up after that look reaches the queued
// operation, and a wake-up before it was seen by the look. Measured under strace: a run of
// tests/test_ring_buffer made 44,323 epoll_wait and no EPOLL_CTL_MOD (25 ADD and 9 DEL, the
// streams' set-up and close).
//
// This depends on Asio 1.81's reactor, so the build fails on any other Boost. On an upgrade,
// check in boost/asio/detail: reactor_op's constructor and perform/complete function types
// (reactor_op.hpp, scheduler_operation.hpp); epoll_reactor's register_descriptor, start_op,
// cancel_ops, deregister_descriptor and cleanup_descriptor_data (epoll_reactor.hpp), and that
// start_op's speculative path still makes no epoll_ctl for a read_op; that detail/reactor.hpp
// still selects epoll_reactor. Then raise the version below. Or fall back to
// posix::stream_descriptor::async_wait, which costs the epoll_ctl per sleep.
#pragma once

#include <boost/version.hpp>

static_assert(BOOST_VERSION / 100 == 1081,
              "src/streams/reactor_wait.hpp uses Boost.Asio 1.81's reactor internals: check them on this "
              "Boost version (see the list at the top of that file) before raising this version");

#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <type_traits>
#include <unistd.h>

namespace bpfco::detail {

static_assert(std::is_same_v<boost::asio::detail::reactor, boost::asio::detail::epoll_reactor>,
              "reactor_wait is written against Asio's epoll reactor");

/// One wait at a time on a descriptor it owns. Owner provides `bool wait_ready()` (called at the
/// start of each wait on the caller's thread: true completes the wait at once) and
/// `static void on_wake(std::shared_ptr<Owner>, boost::system::error_code)` (called from the
/// reactor when the wait completes: readable, or operation_aborted after cancel() or close()).
/// A pending wait keeps its owner alive.
template <class Owner>
class reactor_wait {
public:
    using error_code = boost::system::error_code;

    explicit reactor_wait(boost::asio::execution_context& ctx)
        : reactor_(boost::asio::use_service<boost::asio::detail::reactor>(ctx)) {
        reactor_.init_task();
    }
    reactor_wait(const reactor_wait&) = delete;
    reactor_wait& operator=(const reactor_wait&) = delete;
    ~reactor_wait() { close(); }

    /// Takes ownership of `fd` and registers it with the reactor until close(). Returns errno.
    int assign(int fd) noexcept {
        if (int err = reactor_.register_descriptor(fd, data_)) {
            reactor_.cleanup_descriptor_data(data_);
            return err;
        }
        fd_ = fd;
        return 0;
    }
    int native_handle() const noexcept { return fd_; }

    /// Starts the wait; at most one may be outstanding.
    void start(std::shared_ptr<Owner> owner) {
        op_.owner = std::move(owner);
        op_.first = true;
        op_.ec_ = error_code();
        reactor_.start_op(boost::asio::detail::reactor::read_op, fd_, data_, &op_, false, true);
    }

    /// Completes an outstanding wait with operation_aborted.
    void cancel() noexcept { reactor_.cancel_ops(fd_, data_); }

    /// Completes an outstanding wait with operation_aborted and closes the descriptor.
    void close() noexcept {
        if (fd_ < 0) return;
        // Not `closing`: the ring's fd is a dup of the map's, so closing it would not remove the
        // registration (epoll registers the file, not the fd).
        reactor_.deregister_descriptor(fd_, data_, false);
        reactor_.cleanup_descriptor_data(data_);
        ::close(fd_);
        fd_ = -1;
    }

private:
    using reactor_op = boost::asio::detail::reactor_op;
    using operation = boost::asio::detail::operation;

    struct wait_op : reactor_op {
        wait_op() : reactor_op(error_code(), &perform, &complete) {}
        std::shared_ptr<Owner> owner;
        bool first = true;

        // The first call is start_op's, on the waiting thread: look at the ring. Later calls are
        // the reactor's, on a readiness event: a wake-up (the owner looks again, and waits on
        // when it was spurious). They never touch the owner, which may run on another thread.
        static status perform(reactor_op* base) {
            auto* op = static_cast<wait_op*>(base);
            if (!op->first) return done;
            op->first = false;
            return op->owner->wait_ready() ? done : not_done;
        }

        // `scheduler` is null when the execution context is destroyed with the wait queued.
        static void complete(void* scheduler, operation* base, const error_code&, std::size_t) {
            auto* op = static_cast<wait_op*>(base);
            // Taken out first: dropping it may destroy the owner, and this operation with it.
            auto owner = std::move(op->owner);
            if (scheduler) Owner::on_wake(std::move(owner), op->ec_);
        }
    };

    boost::asio::detail::reactor& reactor_;
    boost::asio::detail::reactor::per_descriptor_data data_ = nullptr;
    int fd_ = -1;
    wait_op op_;
};

}  // namespace bpfco::detail
