#include <bpfco/streams/trace_pipe.hpp>

#include "internal/hints.hpp"
#include "internal/libbpf_log.hpp"
#include "internal/mounts.hpp"
#include "streams/start_op.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstring>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace bpfco {
namespace detail {

struct trace_pipe_state {
    explicit trace_pipe_state(const asio::any_io_executor& ex) : pipe(ex) {}

    bool is_open() const noexcept { return pipe.is_open(); }
    bool busy() const noexcept { return pending; }
    void close() noexcept {
        boost::system::error_code ignored;
        pipe.close(ignored);
    }

    // Moves the complete lines out of `partial`.
    std::vector<std::string> take_lines() {
        std::vector<std::string> lines;
        std::size_t start = 0;
        for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n', start)) {
            lines.emplace_back(partial, start, nl - start);
            start = nl + 1;
        }
        partial.erase(0, start);
        return lines;
    }

    asio::posix::stream_descriptor pipe;
    std::string partial;  // bytes after the last newline read
    bool pending = false;
    char buf[16384];
};

template class io_object<trace_pipe_state>;

namespace {

// The first step reads: `partial` never holds a whole line between receives, so a receive never
// completes inside its initiating function.
struct receive_op {
    std::shared_ptr<trace_pipe_state> s;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
        if (!ec) {
            s->partial.append(s->buf, n);
            auto lines = s->take_lines();
            if (lines.empty()) return s->pipe.async_read_some(asio::buffer(s->buf), std::move(self));
            s->pending = false;
            return self.complete({}, std::move(lines));
        }
        s->pending = false;
        self.complete(ec, {});
    }
};

}  // namespace
}  // namespace detail

result<trace_pipe> trace_pipe::create(const executor_type& ex, const std::string& path) {
    detail::ensure_tracefs();
    // Non-blocking: the reactor waits, a read never blocks the thread.
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return failure(e, fmt::format("trace pipe '{}': open: {}{}", path, std::strerror(e), privilege_hint(e)));
    }
    auto s = std::make_shared<detail::trace_pipe_state>(ex);
    boost::system::error_code ec;
    s->pipe.assign(fd, ec);
    if (ec) {
        ::close(fd);
        return failure(ec.value(), fmt::format("trace pipe '{}': registering with the reactor: {}", path, ec.message()));
    }
    return trace_pipe(ex, std::move(s));
}

trace_pipe::trace_pipe(const executor_type& ex, const std::string& path) : trace_pipe(create(ex, path).value()) {}

void trace_pipe::start_receive(const executor_type& ex, const std::shared_ptr<detail::trace_pipe_state>& state,
                               asio::any_completion_handler<completion_signature> handler) {
    detail::start_op<completion_signature>(ex, state, std::move(handler), detail::receive_op{state});
}

}  // namespace bpfco
