// An untyped BPF map: owns its own fd (a dup when it came from an object), so a map, and every
// typed view or stream made from it, stays valid after the object that created it is closed.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/unique_fd.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bpfco {

/// What the kernel says about a map (BPF_OBJ_GET_INFO_BY_FD).
struct map_info {
    std::uint32_t type = 0;  ///< enum bpf_map_type
    std::uint32_t id = 0;
    std::uint32_t key_size = 0;
    std::uint32_t value_size = 0;
    std::uint32_t max_entries = 0;
    std::uint32_t flags = 0;
    std::string name;
};

/// Flags for map updates, as the kernel defines them (BPF_ANY, BPF_NOEXIST, BPF_EXIST).
enum class update_flags : std::uint64_t { any = 0, no_exist = 1, exist = 2 };

/// How a batch write (update_batch / delete_batch) reaches the kernel.
enum class write_method {
    automatic,  ///< BPF_MAP_UPDATE_BATCH / DELETE_BATCH where the kernel and map type have them, else per_key
    batch,      ///< the batch syscalls only (an error where unsupported)
    per_key,    ///< one BPF_MAP_UPDATE_ELEM / DELETE_ELEM per entry
};

/// The kernel's name for a map type ("hash", "ringbuf", ...), for messages.
std::string_view map_type_name(std::uint32_t type);

class map {
public:
    map() = default;
    /// Takes ownership of a map fd and reads its info from the kernel.
    static result<map> from_fd(unique_fd fd);
    /// Opens a map pinned in bpffs.
    static result<map> from_pinned(const std::string& path);
    /// Makes a new map (for tests and user-space-created maps).
    static result<map> create(std::uint32_t type, std::string_view name, std::uint32_t key_size,
                              std::uint32_t value_size, std::uint32_t max_entries,
                              std::uint32_t flags = 0);

    int fd() const noexcept { return fd_.get(); }
    const map_info& info() const noexcept { return info_; }
    const std::string& name() const noexcept { return info_.name; }
    explicit operator bool() const noexcept { return bool(fd_); }

    /// A second handle on the same kernel map.
    result<map> duplicate() const;
    /// Pins the map at path under bpffs (mode 0600), mounting bpffs when it is missing.
    result<void> pin(const std::string& path) const;

    /// Raw byte access; the typed views in hash_map.hpp etc. are the usual way in.
    /// lookup returns false when the key is absent.
    result<bool> lookup_bytes(const void* key, void* value) const;
    result<void> update_bytes(const void* key, const void* value, update_flags flags) const;
    /// Returns false when the key was absent.
    result<bool> erase_bytes(const void* key) const;
    /// Writes the key after `key` (first key when key is null); false at the end.
    result<bool> next_key_bytes(const void* key, void* next) const;

    /// Batch writes of `count` entries, in order (keys key_size apart, values value_bytes apart:
    /// per-CPU maps pass the 8-byte-rounded value times the possible CPUs). Returns `count`. When
    /// an entry fails, the ones before it stay written and the error says which entry failed and
    /// how many were applied ("N of M applied"); the typed views' update_batch is built on these.
    result<std::size_t> update_batch_bytes(const void* keys, const void* values, std::size_t count,
                                           std::size_t value_bytes, update_flags flags,
                                           write_method how = write_method::automatic) const;
    /// As update_batch_bytes; an absent key fails (ENOENT) like any other entry.
    result<std::size_t> delete_batch_bytes(const void* keys, std::size_t count,
                                           write_method how = write_method::automatic) const;

    /// The checks a typed view makes: the map's type is one of `types` and its key/value
    /// sizes are as given. The error names the map and both sizes.
    result<void> check(std::span<const std::uint32_t> types, std::uint32_t key_size,
                       std::uint32_t value_size) const;

    /// An error about this map: "map 'name': what: strerror".
    error make_error(int errnum, std::string_view what) const;

private:
    map(unique_fd fd, map_info info) : fd_(std::move(fd)), info_(std::move(info)) {}
    unique_fd fd_;
    map_info info_;
};

}  // namespace bpfco
