// A BPF_MAP_TYPE_PROG_ARRAY: the jump table of bpf_tail_call(). A slot holds a program; an
// empty slot makes the tail call fall through to the code after it.
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

namespace bpfco {

class program;

/// A tail-call jump table, index -> program: insert(index, program), erase(index), plus fd(),
/// name(), max_entries(), untyped(), pin() and from_pinned(). Calls are syscalls whose failures name the map
/// and the operation; an index past max_entries fails, an unloaded program fails (EBADF).
/// Thread-safe: const members may run from several threads at once, and a BPF program sees
/// each slot change atomically.
class program_array : public detail::typed_map_base, public detail::view_from_pinned<program_array> {
public:
    /// An empty view (no map).
    program_array() = default;
    /// Checks the map's type and key/value sizes (u32 index -> u32 program fd); a mismatch fails
    /// naming the map.
    static result<program_array> make(bpfco::map m);

    /// Puts `prog` in slot `index`; the kernel holds its own reference to the program. The
    /// kernel refuses (EINVAL) a program whose type differs from the programs that use the table.
    result<void> insert(std::uint32_t index, const program& prog) const;
    /// Empties slot `index`; false when it was empty already.
    result<bool> erase(std::uint32_t index) const;

private:
    using typed_map_base::typed_map_base;
};

}  // namespace bpfco
