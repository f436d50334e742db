// A BPF_MAP_TYPE_LPM_TRIE: lookups return the value of the longest stored prefix that matches.
// Keys are the kernel's {prefixlen, address bytes in network order}: lpm_key<4> for IPv4,
// lpm_key<16> for IPv6.
#pragma once

#include <bpfco/maps/detail/typed_map.hpp>

#include <array>
#include <cstdint>
#include <string_view>

namespace bpfco {

/// The kernel's struct bpf_lpm_trie_key layout for an N-byte address.
template <std::size_t N>
struct lpm_key {
    std::uint32_t prefixlen = 0;          ///< bits of `addr` that count (0 to 8 * N)
    std::array<std::uint8_t, N> addr{};   ///< the address, network byte order
    /// Member-wise: the same prefix length and all address bytes (also those past the prefix).
    friend bool operator==(const lpm_key&, const lpm_key&) = default;
};
/// An IPv4 prefix key (lpm_trie<ipv4_prefix_key, V>).
using ipv4_prefix_key = lpm_key<4>;
/// An IPv6 prefix key (lpm_trie<ipv6_prefix_key, V>).
using ipv6_prefix_key = lpm_key<16>;

/// An IPv4 address in network byte order (as in struct iphdr): ipv4("1.2.3.4"). Malformed
/// text fails (EINVAL) quoting it; the parsers are pure functions, safe from any thread.
result<std::uint32_t> ipv4(std::string_view text);
/// An IPv6 address in network byte order.
result<std::array<std::uint8_t, 16>> ipv6(std::string_view text);
/// "10.0.0.0/8" (a bare address is /32) as an LPM key; a bad address or length fails quoting it.
result<ipv4_prefix_key> ipv4_prefix(std::string_view text);
/// "2001:db8::/32" (a bare address is /128) as an LPM key.
result<ipv6_prefix_key> ipv6_prefix(std::string_view text);

/// A BPF_MAP_TYPE_LPM_TRIE as K (an lpm_key) -> V: lookup(k) gives the value of the longest
/// stored prefix containing k's address (std::nullopt when none), insert(k, v, flags) and
/// erase(k) (false when absent) act on exact prefixes; keys(), read_all(), plus fd(), name(),
/// max_entries(), untyped() and pin().
/// Every typed view is made with `make(map)` (or object::map<View>(name), View::from_pinned(path)),
/// which fails naming the map when its type, key or value size, or (where the map has BTF) a
/// struct's layout differs from the C++ types. Calls are syscalls whose failures name the map
/// and the operation. Thread-safe: const members may run from several threads at once; each
/// entry is read or written atomically, a whole-map read is not a snapshot.
template <class K, class V>
class lpm_trie : public detail::erasable_map<K, V, map_type::lpm_trie>,
                 public detail::view_factory<lpm_trie<K, V>> {
public:
    /// An empty view (no map).
    lpm_trie() = default;

private:
    friend detail::view_factory<lpm_trie>;
    using detail::erasable_map<K, V, map_type::lpm_trie>::erasable_map;
};

}  // namespace bpfco
