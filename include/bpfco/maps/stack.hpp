// A BPF_MAP_TYPE_STACK: last in, first out; the same operations as bpfco::queue.
#pragma once

#include <bpfco/maps/queue.hpp>

namespace bpfco {

/// A BPF_MAP_TYPE_STACK of V, last in, first out: the same make(), push(), pop() and peek(),
/// errors and thread-safety as bpfco::queue; pop() and peek() take the newest element.
template <class V>
using stack = detail::keyless_map<V, map_type::stack>;

}  // namespace bpfco
