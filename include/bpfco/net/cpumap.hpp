// BPF_MAP_TYPE_CPUMAP: bpf_redirect_map() from XDP hands the packet to a kernel thread on the
// slot's CPU, which builds the skb there (and may first run a second XDP program on it).
#pragma once

#include <bpfco/net/devmap.hpp>

namespace bpfco {

/// CPU -> queue of redirected packets (and optional second XDP program): insert(cpu, size [,
/// program]), queue_size(cpu), erase(cpu), plus fd(), name(), max_entries(), untyped(), pin()
/// and from_pinned(). Failures name the map
/// and the CPU slot. Thread-safe: const members may run from several threads at once, and XDP
/// sees each slot change atomically.
class cpumap : public detail::typed_map_base, public detail::view_from_pinned<cpumap> {
public:
    /// An empty view (no map).
    cpumap() = default;
    /// Checks the map's type and sizes: u32 CPU, value u32 queue size or struct bpf_cpumap_val;
    /// a mismatch fails naming the map.
    static result<cpumap> make(bpfco::map m);

    /// Enables `cpu` with a queue of `queue_size` packets (the kernel starts its thread now). A CPU
    /// that is not possible, or is past max_entries, fails; a queue size of 0 empties the slot.
    result<void> insert(std::uint32_t cpu, std::uint32_t queue_size) const;
    /// The same, running `second` (SEC("xdp/cpumap")) on that CPU before the skb is built. Fails
    /// (EINVAL) on a map with 4-byte values and (EBADF) when `second` is not loaded.
    result<void> insert(std::uint32_t cpu, std::uint32_t queue_size, const program& second) const;
    /// The queue size, or std::nullopt when the CPU is not enabled.
    result<std::optional<std::uint32_t>> queue_size(std::uint32_t cpu) const;
    /// False when the CPU was not enabled.
    result<bool> erase(std::uint32_t cpu) const { return map_.erase_bytes(&cpu); }

private:
    using typed_map_base::typed_map_base;
};

}  // namespace bpfco
