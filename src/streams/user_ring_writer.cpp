#include <bpfco/streams/user_ring_writer.hpp>

#include "streams/start_op.hpp"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <poll.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace bpfco {
namespace detail {

struct user_ring_state {
    user_ring_state(const asio::any_io_executor& e, map m) : ring(std::move(m)), wake(e), retry(e) {}
    ~user_ring_state() {
        if (rb) user_ring_buffer__free(rb);
    }
    user_ring_state(const user_ring_state&) = delete;
    user_ring_state& operator=(const user_ring_state&) = delete;

    bool is_open() const noexcept { return !closed; }
    bool busy() const noexcept { return pending; }
    void close() noexcept {
        if (closed) return;
        closed = true;
        boost::system::error_code ignored;
        wake.close(ignored);
        retry.cancel();
    }

    // errno of a failed reserve, 0 with *out set on success.
    int reserve(std::uint32_t size, std::span<std::byte>* out) noexcept {
        void* p = user_ring_buffer__reserve(rb, size);
        if (!p) return errno ? errno : ENOSPC;
        *out = {static_cast<std::byte*>(p), size};
        return 0;
    }

    map ring;
    ::user_ring_buffer* rb = nullptr;
    asio::posix::stream_descriptor wake;  // a dup of the map fd: writable after a drain
    asio::steady_timer retry;             // while some room is free, but too little
    bool closed = false;
    bool pending = false;
};

template class io_object<user_ring_state>;

namespace {

struct reserve_op {
    asio::any_io_executor ex;
    std::shared_ptr<user_ring_state> s;
    std::uint32_t size;
    bool started = false;
    std::chrono::microseconds backoff{0};

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
        if (!started) {
            started = true;
            self.reset_cancellation_state(asio::enable_total_cancellation());
            // Even a reserve that could succeed now completes through the executor, never
            // inside the initiating function; the reservation is made only then, so a reserve
            // cancelled before it runs has reserved nothing.
            return asio::post(ex, std::move(self));
        }
        if (!ec && (s->closed || self.cancelled() != asio::cancellation_type::none)) ec = asio::error::operation_aborted;
        std::span<std::byte> record;
        if (!ec) {
            int e = s->reserve(size, &record);
            if (e == ENOSPC) {
                // The map polls writable while any byte is free, so waiting for that when some
                // room is free but too little for this record would spin: retry on a timer
                // then (50 us, doubling to 1 ms), and wait for writability only when full.
                if (!writable_now()) return s->wake.async_wait(asio::posix::stream_descriptor::wait_write, std::move(self));
                backoff = std::clamp(backoff * 2, std::chrono::microseconds(50), std::chrono::microseconds(1000));
                s->retry.expires_after(backoff);
                return s->retry.async_wait(std::move(self));
            }
            if (e == E2BIG) ec = asio::error::message_size;
            else if (e) ec = errno_code(e);
        }
        s->pending = false;
        self.complete(ec, record);
    }

    bool writable_now() const noexcept {
        pollfd p{s->wake.native_handle(), POLLOUT, 0};
        return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
    }
};

}  // namespace
}  // namespace detail

result<user_ring_writer> user_ring_writer::create(const executor_type& ex, map ring) {
    if (ring.info().type != map_type::user_ringbuf)
        return failure(ring.make_error(EINVAL, fmt::format("a user ring buffer needs a user_ringbuf map, not {}",
                                                           ring.info().type)));
    auto s = std::make_shared<detail::user_ring_state>(ex, std::move(ring));
    s->rb = user_ring_buffer__new(s->ring.fd(), nullptr);
    if (!s->rb) {
        int e = errno;
        return failure(s->ring.make_error(e, "mapping the user ring buffer"));
    }
    int fd = ::fcntl(s->ring.fd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        return failure(s->ring.make_error(e, "duplicating the map fd"));
    }
    boost::system::error_code ec;
    s->wake.assign(fd, ec);
    if (ec) {
        ::close(fd);
        return failure(s->ring.make_error(ec.value(), "registering with the reactor"));
    }
    return user_ring_writer(ex, std::move(s));
}

user_ring_writer::user_ring_writer(const executor_type& ex, map ring)
    : user_ring_writer(create(ex, std::move(ring)).value()) {}

std::uint32_t user_ring_writer::capacity() const noexcept { return state() ? state()->ring.info().max_entries : 0; }

result<std::span<std::byte>> user_ring_writer::try_reserve(std::uint32_t size) {
    auto* s = state();
    if (!s) return failure(EBADF, "user ring buffer: reserve on a moved-from writer");
    if (s->closed) return failure(s->ring.make_error(EBADF, "reserve after close"));
    std::span<std::byte> record;
    int e = s->reserve(size, &record);
    if (e == ENOSPC)
        return failure(s->ring.make_error(e, fmt::format("reserve {} bytes: the ring is full until BPF drains it", size)));
    if (e == E2BIG)
        return failure(s->ring.make_error(
            e, fmt::format("reserve {} bytes: larger than the ring ({} bytes) can ever hold", size, capacity())));
    if (e) return failure(s->ring.make_error(e, fmt::format("reserve {} bytes", size)));
    return record;
}

void user_ring_writer::submit(std::span<std::byte> record) noexcept {
    // A moved-from writer cannot have reserved the record: nothing to hand over.
    if (auto* s = state()) user_ring_buffer__submit(s->rb, record.data());
}
void user_ring_writer::discard(std::span<std::byte> record) noexcept {
    if (auto* s = state()) user_ring_buffer__discard(s->rb, record.data());
}

void user_ring_writer::start_reserve(const executor_type& ex, const std::shared_ptr<detail::user_ring_state>& state,
                                     asio::any_completion_handler<completion_signature> handler, std::uint32_t size) {
    detail::start_op<completion_signature>(ex, state, std::move(handler), detail::reserve_op{ex, state, size});
}

}  // namespace bpfco
