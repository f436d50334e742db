// BPF_MAP_TYPE_XSKMAP: bpf_redirect_map() from XDP delivers the frame to the AF_XDP socket in the
// slot (usually keyed by the receive queue, ctx->rx_queue_index).
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

namespace bpfco {

class xsk_socket;

/// Queue -> AF_XDP socket, for an XDP program's bpf_redirect_map(): insert(queue, socket),
/// erase(queue), plus fd(), name(), max_entries(), untyped(), pin() and from_pinned(). Failures name the map, the
/// slot and the socket fd. Thread-safe: const members may run from several threads at once.
class xskmap : public detail::typed_map_base, public detail::view_from_pinned<xskmap> {
public:
    /// An empty view (no map).
    xskmap() = default;
    /// Checks the map's type and sizes (u32 queue -> u32 socket fd); a mismatch fails naming the
    /// map.
    static result<xskmap> make(bpfco::map m);

    /// Puts a bound AF_XDP socket in slot `queue`; the kernel refuses any other socket (named).
    result<void> insert(std::uint32_t queue, int socket_fd) const;
    /// The same with the socket's fd.
    result<void> insert(std::uint32_t queue, const xsk_socket& socket) const;
    /// False when the slot was empty.
    result<bool> erase(std::uint32_t queue) const { return map_.erase_bytes(&queue); }

private:
    using typed_map_base::typed_map_base;
};

}  // namespace bpfco
