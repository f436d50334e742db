// A BPF_MAP_TYPE_STACK: last in, first out; the same operations as bpfco::queue.
#pragma once

#include <bpfco/queue.hpp>

namespace bpfco {

template <class V>
using stack = detail::keyless_map<V, BPF_MAP_TYPE_STACK>;

}  // namespace bpfco
