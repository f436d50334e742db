#include <bpfco/streams/iterator.hpp>
#include <bpfco/unique_fd.hpp>

#include "internal/hints.hpp"
#include "streams/start_op.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace bpfco {
namespace detail {

struct iterator_state {
    unique_fd fd;
    bool pending = false;

    bool is_open() const noexcept { return bool(fd); }
    bool busy() const noexcept { return pending; }
    void close() noexcept { fd.reset(); }
};

template class io_object<iterator_state>;

namespace {

// An iterator fd is not pollable: the read is posted and made on the executor, so the handler
// never runs inside the initiating function and other work interleaves between reads.
struct read_op {
    asio::any_io_executor ex;
    std::shared_ptr<iterator_state> s;
    asio::mutable_buffer buffer;
    bool started = false;

    template <class Self>
    void operator()(Self& self) {
        if (!started) {
            started = true;
            self.reset_cancellation_state(asio::enable_total_cancellation());
            return asio::post(ex, std::move(self));
        }
        s->pending = false;
        if (!s->fd || self.cancelled() != asio::cancellation_type::none)
            return self.complete(asio::error::operation_aborted, 0);
        if (buffer.size() == 0) return self.complete({}, 0);
        ssize_t n;
        do n = ::read(s->fd.get(), buffer.data(), buffer.size());
        while (n < 0 && errno == EINTR);
        if (n < 0) return self.complete(errno_code(errno), 0);
        if (n == 0) return self.complete(asio::error::eof, 0);
        self.complete({}, static_cast<std::size_t>(n));
    }
};

}  // namespace
}  // namespace detail

result<iterator_stream> iterator_stream::create(const executor_type& ex, const link& iter) {
    int fd = bpf_iter_create(iter.fd());
    if (fd < 0) {
        int e = errno;
        return failure(e, fmt::format("iterator link (fd {}): starting a pass (bpf_iter_create): {}{}", iter.fd(),
                                      std::strerror(e), privilege_hint(e)));
    }
    return iterator_stream(ex, std::make_shared<detail::iterator_state>(detail::iterator_state{unique_fd(fd)}));
}

iterator_stream::iterator_stream(const executor_type& ex, const link& iter)
    : iterator_stream(create(ex, iter).value()) {}

void iterator_stream::start_read(const executor_type& ex, const std::shared_ptr<detail::iterator_state>& state,
                                 asio::any_completion_handler<completion_signature> handler,
                                 asio::mutable_buffer buffer) {
    detail::start_op<completion_signature>(ex, state, std::move(handler), detail::read_op{ex, state, buffer});
}

}  // namespace bpfco
