#include <bpfco/streams/iterator.hpp>

#include "internal/hints.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace bpfco {

result<iterator_stream> iterator_stream::create(const executor_type& ex, const link& iter) {
    int fd = bpf_iter_create(iter.fd());
    if (fd < 0) {
        int e = errno;
        return failure(e, fmt::format("iterator link (fd {}): starting a pass (bpf_iter_create): {}{}", iter.fd(),
                                      std::strerror(e), privilege_hint(e)));
    }
    return iterator_stream(ex, std::make_shared<state>(state{unique_fd(fd)}));
}

iterator_stream::iterator_stream(const executor_type& ex, const link& iter)
    : iterator_stream(create(ex, iter).value()) {}

}  // namespace bpfco
