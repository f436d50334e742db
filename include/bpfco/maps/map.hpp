// An untyped BPF map: owns its own fd (a dup when it came from an object), so a map, and every
// typed view or stream made from it, stays valid after the object that created it is closed.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/kinds.hpp>
#include <bpfco/unique_fd.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace bpfco {

namespace detail {
class record_declaration;
}

/// What the kernel says about a map (BPF_OBJ_GET_INFO_BY_FD).
struct map_info {
    map_type type = map_type::unspec;  ///< the kernel's map type
    std::uint32_t id = 0;           ///< the kernel's id, unique while the map exists
    std::uint32_t key_size = 0;     ///< bytes per key (0 for queue, stack and bloom filter)
    std::uint32_t value_size = 0;   ///< bytes per value (per CPU, unrounded, for per-CPU maps)
    std::uint32_t max_entries = 0;  ///< capacity as created
    std::uint32_t flags = 0;        ///< BPF_F_* creation flags
    std::string name;               ///< the kernel's name, cut to 15 characters
};

/// Flags for map writes (insert), as the kernel defines them (BPF_ANY, BPF_NOEXIST, BPF_EXIST).
enum class update_flags : std::uint64_t { any = 0, no_exist = 1, exist = 2 };

/// How a batch write (insert_batch / erase_batch) reaches the kernel.
enum class write_method {
    automatic,  ///< BPF_MAP_UPDATE_BATCH / DELETE_BATCH where the kernel and map type have them, else per_key
    batch,      ///< the batch syscalls only (an error where unsupported)
    per_key,    ///< one BPF_MAP_UPDATE_ELEM / DELETE_ELEM per entry
};

/// An owned handle on a kernel map with untyped, byte-level access: the typed views (hash_map,
/// array, ...) check a map once and then wrap this. Move-only in effect (unique_fd); an empty
/// map (default-constructed or moved-from) is false. Errors are `result` failures that name
/// the map and the operation. Thread-safe for const members: each is one or a few syscalls on
/// a fd nobody else closes, and the kernel makes each single-entry operation atomic, not a
/// sequence of them (a walk by next_key_bytes, or a batch, may see a program's writes part way).
class map {
public:
    /// An empty handle (false).
    map() = default;
    /// Takes ownership of a map fd and reads its info from the kernel; fails naming the fd when
    /// it is not a BPF map.
    static result<map> from_fd(unique_fd fd);
    /// Opens a map pinned in bpffs; fails naming the path (missing, not a map, no permission).
    static result<map> from_pinned(const std::string& path);
    /// Makes a new map (for tests and user-space-created maps); fails naming the map when the
    /// kernel refuses the type or sizes.
    static result<map> create(map_type type, std::string_view name, std::uint32_t key_size,
                              std::uint32_t value_size, std::uint32_t max_entries,
                              std::uint32_t flags = 0);

    /// The map's fd (-1 when empty); still owned by this handle.
    int fd() const noexcept { return fd_.get(); }
    /// What the kernel said about the map when the handle was made.
    const map_info& info() const noexcept { return info_; }
    /// The kernel's name for the map, as used in every error about it.
    const std::string& name() const noexcept { return info_.name; }
    /// What the object that made this handle declares about the map's records (BPFCO_MAP_RECORD,
    /// BPFCO_RECORD_TYPE), which ring and perf streams check as<T>() against; null for a map
    /// not made by object::map(), or when the object declares nothing.
    const std::shared_ptr<const detail::record_declaration>& record_declaration() const noexcept { return records_; }
    /// True when the handle holds a map.
    explicit operator bool() const noexcept { return bool(fd_); }

    /// A second handle on the same kernel map (its own fd); fails naming the map when out of fds.
    result<map> duplicate() const;
    /// Pins the map at path under bpffs (mode 0600), mounting bpffs when it is missing; fails
    /// naming the map and the path (taken already, not on bpffs, bpffs cannot be mounted).
    result<void> pin(const std::string& path) const;

    /// Raw byte access; the typed views in hash_map.hpp etc. are the usual way in.
    /// lookup returns false when the key is absent.
    result<bool> lookup_bytes(const void* key, void* value) const;
    /// Writes key -> value (key_size and value_size bytes; null key for keyless maps), replacing
    /// the value of a present key unless `flags` say otherwise. `flags` failing (EEXIST for
    /// no_exist, ENOENT for exist) is an error like any other.
    result<void> insert_bytes(const void* key, const void* value, update_flags flags) const;
    /// Returns false when the key was absent.
    result<bool> erase_bytes(const void* key) const;
    /// Writes the key after `key` (first key when key is null); false at the end.
    result<bool> next_key_bytes(const void* key, void* next) const;

    /// Batch writes of `count` entries, in order (keys key_size apart, values value_bytes apart:
    /// per-CPU maps pass the 8-byte-rounded value times the possible CPUs). Returns `count`. When
    /// an entry fails, the ones before it stay written and the error says which entry failed and
    /// how many were applied: in the text ("N of M applied") and as error::applied. The typed
    /// views' insert_batch and erase_batch are built on these.
    result<std::size_t> insert_batch_bytes(const void* keys, const void* values, std::size_t count,
                                           std::size_t value_bytes, update_flags flags,
                                           write_method how = write_method::automatic) const;
    /// As insert_batch_bytes; an absent key fails (ENOENT) like any other entry.
    result<std::size_t> erase_batch_bytes(const void* keys, std::size_t count,
                                           write_method how = write_method::automatic) const;

    /// The checks a typed view makes: the map's type is one of `types` and its key/value
    /// sizes are as given. The error names the map and both sizes.
    result<void> check(std::span<const map_type> types, std::uint32_t key_size,
                       std::uint32_t value_size) const;

    /// An error about this map: "map 'name': what: strerror".
    error make_error(int errnum, std::string_view what) const;

private:
    friend class object;  // attaches the record declaration
    map(unique_fd fd, map_info info) : fd_(std::move(fd)), info_(std::move(info)) {}
    unique_fd fd_;
    map_info info_;
    std::shared_ptr<const detail::record_declaration> records_;
};

}  // namespace bpfco
