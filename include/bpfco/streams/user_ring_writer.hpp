// The writer side of a BPF_MAP_TYPE_USER_RINGBUF map: user space reserves and submits records,
// BPF consumes them with bpf_user_ringbuf_drain(). libbpf's user_ring_buffer does the ring
// protocol; this class adds an awaitable reserve that waits, without blocking a thread, until the
// BPF side has drained enough room.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/maps/map.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

struct user_ring_buffer;

namespace bpfco {

/// A user ring buffer writer as an Asio I/O object.
///
/// Records are reserved (try_reserve() now, or async_reserve() waiting for room), filled in place
/// and then submitted or discarded, in any order; BPF sees them in reservation order.
///
/// async_reserve: Completion Signature `void(boost::system::error_code, std::span<std::byte>)`.
/// It completes with the reserved record, or with `operation_aborted` (cancelled, or the writer
/// closed), `bad_descriptor` (started after close), `already_started` (another reserve is
/// pending), `message_size` (the record can never fit this ring), or an errno. It waits on the
/// map fd's writability, which the kernel signals whenever BPF has drained records (unless the
/// drain asked for BPF_RB_NO_WAKEUP). Per-operation cancellation: terminal, partial and total; a
/// cancelled reserve has reserved nothing.
///
/// Thread Safety: as Asio sockets (one object, one strand). One reserve may be pending at a time.
class user_ring_writer {
public:
    /// The executor a reserve waits and completes on unless the handler has its own.
    using executor_type = boost::asio::any_io_executor;
    /// Completion signature of async_reserve: an error, or the reserved record.
    using completion_signature = void(boost::system::error_code, std::span<std::byte>);

    /// `ring` must be a BPF_MAP_TYPE_USER_RINGBUF map; the error names it.
    static result<user_ring_writer> create(const executor_type& ex, map ring);
    /// As create(), for code that uses exceptions: throws its error (as result::value()).
    user_ring_writer(const executor_type& ex, map ring);

    /// Takes `o`'s ring; `o` is left closed.
    user_ring_writer(user_ring_writer&& o) noexcept : ex_(o.ex_), state_(std::move(o.state_)) {}
    /// Closes this writer (as close()), then takes `o`'s ring.
    user_ring_writer& operator=(user_ring_writer&& o) noexcept {
        if (this != &o) {
            close();
            ex_ = o.ex_;
            state_ = std::move(o.state_);
        }
        return *this;
    }
    user_ring_writer(const user_ring_writer&) = delete;
    user_ring_writer& operator=(const user_ring_writer&) = delete;
    /// Closes; records reserved and not yet submitted are discarded with the ring.
    ~user_ring_writer() { close(); }

    /// The executor given to create().
    executor_type get_executor() const noexcept { return ex_; }
    /// The ring's data size in bytes (the map's max_entries); a record takes 8 more, rounded up to 8.
    std::uint32_t capacity() const noexcept { return state_ ? state_->ring.info().max_entries : 0; }

    /// Reserves `size` bytes now: ENOSPC when the ring has no room yet, E2BIG when it never will.
    result<std::span<std::byte>> try_reserve(std::uint32_t size);
    /// Hands a reserved record to BPF.
    void submit(std::span<std::byte> record) noexcept;
    /// Gives a reserved record back unread.
    void discard(std::span<std::byte> record) noexcept;

    /// Reserves `size` bytes, waiting until BPF has drained enough room. See the class for errors.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_reserve(std::uint32_t size, Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return boost::asio::async_compose<Token, completion_signature>(reserve_op(ex_, state_, size), token, ex_);
    }

    /// A pending reserve completes with operation_aborted. Idempotent.
    void close() noexcept {
        if (state_ && !state_->closed) {
            state_->closed = true;
            boost::system::error_code ignored;
            state_->wake.close(ignored);
        }
    }
    /// Not closed (nor moved from).
    bool is_open() const noexcept { return state_ && !state_->closed; }

private:
    struct state {
        state(const executor_type& e, map m) : ring(std::move(m)), wake(e) {}
        ~state();
        state(const state&) = delete;
        state& operator=(const state&) = delete;
        map ring;
        ::user_ring_buffer* rb = nullptr;
        boost::asio::posix::stream_descriptor wake;  // a dup of the map fd: writable after a drain
        bool closed = false;
        bool pending = false;
    };
    // errno of a failed reserve, 0 with *out set on success.
    static int reserve(state& s, std::uint32_t size, std::span<std::byte>* out) noexcept;

    struct reserve_op {
        reserve_op(executor_type e, std::shared_ptr<state> st, std::uint32_t n) noexcept
            : ex(std::move(e)), s(std::move(st)), size(n) {}
        executor_type ex;
        std::shared_ptr<state> s;
        std::uint32_t size;
        bool started = false;
        bool owner = false;
        boost::system::error_code refused;

        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}) {
            namespace error = boost::asio::error;
            if (!started) {
                started = true;
                if (!s || s->closed)
                    refused = error::bad_descriptor;
                else if (s->pending)
                    refused = error::already_started;
                else
                    s->pending = owner = true;
                self.reset_cancellation_state(boost::asio::enable_total_cancellation());
                // Even a reserve that could succeed now completes through the executor, never
                // inside the initiating function; the reservation is made only then, so a
                // reserve cancelled before it runs has reserved nothing.
                return boost::asio::post(ex, std::move(self));
            }
            if (!owner) return self.complete(refused, {});
            if (!ec && (s->closed || self.cancelled() != boost::asio::cancellation_type::none))
                ec = error::operation_aborted;
            std::span<std::byte> record;
            if (!ec) {
                int e = reserve(*s, size, &record);
                if (e == ENOSPC) return s->wake.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                                                           std::move(self));
                if (e == E2BIG) ec = error::message_size;
                else if (e) ec = boost::system::error_code(e, boost::system::system_category());
            }
            s->pending = false;
            self.complete(ec, record);
        }
    };

    user_ring_writer(executor_type ex, std::shared_ptr<state> s) noexcept : ex_(std::move(ex)), state_(std::move(s)) {}
    executor_type ex_;
    std::shared_ptr<state> state_;
};

}  // namespace bpfco
