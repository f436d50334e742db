// BPF_MAP_TYPE_SOCKMAP and BPF_MAP_TYPE_SOCKHASH: sockets that sk_msg and sk_skb programs attached
// to the map (program::attach_sockmap) redirect data between, in the kernel. The kernel
// takes its own reference: closing the socket's fd removes it from the map.
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

namespace bpfco {

namespace detail {
/// Values are socket fds on write, 4 or 8 bytes (the kernel accepts both).
result<void> check_socket_map(const bpfco::map& m, map_type type, std::uint32_t key_size);
result<void> insert_socket(const bpfco::map& m, const void* key, std::string_view key_text, int socket_fd,
                           update_flags flags);

template <class K, map_type Type>
class socket_map : public typed_map_base, public view_from_pinned<socket_map<K, Type>> {
    static_assert(detail::map_data<K>, "map keys must be trivially copyable");

public:
    using key_type = K;

    socket_map() = default;
    static result<socket_map> make(bpfco::map m) {
        BPFCO_TRY(check_socket_map(m, Type, sizeof(K)));
        return socket_map(std::move(m));
    }

    /// Adds a socket (TCP established or listening, UDP bound, or unix); the kernel refuses the
    /// others, and the error names the socket and says which it takes.
    result<void> insert(const K& key, int socket_fd, update_flags flags = update_flags::any) const {
        return insert_socket(map_, &key, key_text(key), socket_fd, flags);
    }
    /// False when the key was absent.
    result<bool> erase(const K& key) const { return map_.erase_bytes(&key); }

private:
    static std::string key_text(const K& key) {
        if constexpr (std::is_integral_v<K>) return "key " + std::to_string(key);
        else return "key";
    }
    using typed_map_base::typed_map_base;
};
}  // namespace detail

/// A BPF_MAP_TYPE_SOCKMAP, slots 0..max_entries-1 -> socket: make(map) (fails naming the map
/// unless it has u32 keys and 4- or 8-byte values), insert(key, socket_fd, flags) (a socket of
/// a kind the kernel refuses fails naming the key and fd, and saying which kinds it takes),
/// erase(key) (false when absent), plus fd(), name(), max_entries(), untyped(), pin() and
/// from_pinned(). Thread-safe:
/// const members may run from several threads at once.
using sockmap = detail::socket_map<std::uint32_t, map_type::sockmap>;
/// A BPF_MAP_TYPE_SOCKHASH: sockmap's operations, errors and thread-safety with any key type
/// (a 4-tuple, a cookie, ...), matched by bpf_msg/sk_redirect_hash().
template <class K>
using sockhash = detail::socket_map<K, map_type::sockhash>;

}  // namespace bpfco
