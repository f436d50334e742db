#include <bpfco/maps/queue.hpp>

#include <bpf/bpf.h>

#include <cerrno>

namespace bpfco::detail {

result<bool> pop_bytes(const bpfco::map& m, void* value) {
    if (bpf_map_lookup_and_delete_elem(m.fd(), nullptr, value) == 0) return true;
    if (errno == ENOENT) return false;
    return failure(m.make_error(errno, "pop"));
}

}  // namespace bpfco::detail
