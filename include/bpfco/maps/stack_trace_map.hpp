// A typed view over a BPF_MAP_TYPE_STACK_TRACE map, which bpf_get_stackid fills: u32 stack ids
// to arrays of N u64 instruction addresses, leaf first, unused slots zero.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/maps/detail/typed_map.hpp>
#include <bpfco/maps/map.hpp>

#include <cstdint>
#include <vector>

namespace bpfco {

/// Reads and frees the stacks a BPF program recorded with bpf_get_stackid(): read(id),
/// erase(id), max_depth(), plus fd(), name(), max_entries(), untyped(), pin() and
/// from_pinned(). Failures name the map and the operation. Thread-safe: const members may run
/// from several threads at once.
class stack_trace_map : public detail::typed_map_base, public detail::view_from_pinned<stack_trace_map> {
public:
    /// An empty view (no map).
    stack_trace_map() = default;
    /// Checks that the map is a stack trace map with u32 keys and values of whole u64s; a
    /// mismatch fails naming the map.
    static result<stack_trace_map> make(map m);

    /// The most frames a stack holds (value size / 8).
    std::size_t max_depth() const noexcept { return map_.info().value_size / sizeof(std::uint64_t); }

    /// The addresses of stack `id`, leaf first, up to the first 0. Empty when there is no such
    /// stack: bpf_get_stackid may have replaced it (hash collision) or it was erased; negative
    /// ids (bpf_get_stackid's errors) are never stacks.
    result<std::vector<std::uint64_t>> read(std::int32_t id) const;
    /// Frees the stack's slot for new stacks; false when it was not there.
    result<bool> erase(std::int32_t id) const;

private:
    using typed_map_base::typed_map_base;
};

}  // namespace bpfco
