// BPF_MAP_TYPE_DEVMAP and BPF_MAP_TYPE_DEVMAP_HASH: the targets of bpf_redirect_map() from XDP.
// A slot names an interface, and optionally a second XDP program (BPF_XDP_DEVMAP) that runs on
// the packet after the redirect, before it leaves.
#pragma once

#include <bpfco/loader/program.hpp>
#include <bpfco/maps/detail/typed_map.hpp>

#include <optional>
#include <string_view>

namespace bpfco {

/// A slot as the kernel reports it.
struct devmap_entry {
    int ifindex = 0;               ///< the interface the slot redirects to
    std::uint32_t program_id = 0;  ///< 0: no second program (or a 4-byte-value map)
};

namespace detail {
/// The value of a devmap or cpumap slot: a 32-bit number and, in 8-byte values, a program.
/// Both map kinds accept either value size; a program needs the 8-byte form.
result<void> check_slot_map(const bpfco::map& m, map_type type);
result<void> insert_slot(const bpfco::map& m, std::uint32_t key, std::uint32_t first, const program* prog,
                      std::string_view what);
result<std::optional<std::pair<std::uint32_t, std::uint32_t>>> get_slot(const bpfco::map& m, std::uint32_t key);

template <map_type Type>
class device_map : public typed_map_base, public view_from_pinned<device_map<Type>> {
public:
    device_map() = default;
    /// Checks the map's type and its sizes: u32 key, value u32 ifindex or struct bpf_devmap_val.
    static result<device_map> make(bpfco::map m) {
        BPFCO_TRY(check_slot_map(m, Type));
        return device_map(std::move(m));
    }

    /// Redirects through `key` to the interface `ifindex`. Fails naming the slot and the index
    /// when this network namespace has no such interface (the kernel says EINVAL).
    result<void> insert(std::uint32_t key, int ifindex) const {
        return insert_slot(map_, key, static_cast<std::uint32_t>(ifindex), nullptr, "interface index");
    }
    /// The same, running `second` (an XDP program loaded with SEC("xdp/devmap")) on the way out.
    /// Fails (EINVAL) on a map with 4-byte values, which have no room for a program, and (EBADF)
    /// when `second` is not loaded.
    result<void> insert(std::uint32_t key, int ifindex, const program& second) const {
        return insert_slot(map_, key, static_cast<std::uint32_t>(ifindex), &second, "interface index");
    }
    /// The same by interface name; an unknown name fails naming it.
    result<void> insert(std::uint32_t key, std::string_view interface) const {
        BPFCO_TRY(int ifindex, interface_index(interface));
        return insert(key, ifindex);
    }
    /// The slot's interface and second program; std::nullopt when the slot is empty.
    result<std::optional<devmap_entry>> lookup(std::uint32_t key) const {
        BPFCO_TRY(auto v, get_slot(map_, key));
        if (!v) return std::optional<devmap_entry>{};
        return std::optional<devmap_entry>{devmap_entry{static_cast<int>(v->first), v->second}};
    }
    /// False when the slot was empty.
    result<bool> erase(std::uint32_t key) const { return map_.erase_bytes(&key); }

private:
    using typed_map_base::typed_map_base;
};
}  // namespace detail

/// A BPF_MAP_TYPE_DEVMAP, slots 0..max_entries-1 -> interface (and optional second XDP
/// program): make(map) (fails naming the map unless it has u32 keys and 4- or 8-byte values),
/// insert(key, ifindex or name [, program]), lookup(key), erase(key), plus fd(), name(),
/// max_entries(), untyped(), pin() and from_pinned(). Failures name the map and the slot. Thread-safe: const members
/// may run from several threads at once, and XDP sees each slot change atomically.
using devmap = detail::device_map<map_type::devmap>;
/// A BPF_MAP_TYPE_DEVMAP_HASH: devmap's operations, errors and thread-safety with any u32 key
/// (usually the ifindex itself), so sparse interface indexes need no large array.
using devmap_hash = detail::device_map<map_type::devmap_hash>;

}  // namespace bpfco
