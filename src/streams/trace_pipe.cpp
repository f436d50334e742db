#include <bpfco/streams/trace_pipe.hpp>

#include "internal/hints.hpp"
#include "internal/libbpf_log.hpp"
#include "internal/mounts.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

namespace bpfco {

result<trace_pipe> trace_pipe::create(const executor_type& ex, const std::string& path) {
    detail::ensure_tracefs();
    // Non-blocking: the reactor waits, a read never blocks the thread.
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return failure(e, fmt::format("trace pipe '{}': open: {}{}", path, std::strerror(e), privilege_hint(e)));
    }
    auto s = std::make_shared<state>(ex);
    boost::system::error_code ec;
    s->pipe.assign(fd, ec);
    if (ec) {
        ::close(fd);
        return failure(ec.value(), fmt::format("trace pipe '{}': registering with the reactor: {}", path, ec.message()));
    }
    return trace_pipe(ex, std::move(s));
}

std::vector<std::string> trace_pipe::take_lines(state& s) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (auto nl = s.partial.find('\n'); nl != std::string::npos; nl = s.partial.find('\n', start)) {
        lines.emplace_back(s.partial, start, nl - start);
        start = nl + 1;
    }
    s.partial.erase(0, start);
    return lines;
}

}  // namespace bpfco
