// Pinning in bpffs, so that programs, links and maps outlive the process that made them, and
// re-opening them in the next one with their kind checked (a daemon upgraded in place).
// Links and maps pin themselves (link::pin, map::pin) and re-open with link::from_pinned and
// open_pinned<View>; programs pin and re-open here.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/maps/map.hpp>
#include <bpfco/unique_fd.hpp>

#include <cstdint>
#include <string>

namespace bpfco {

class program;

/// Removes a pin from bpffs (the object lives on while anything else holds it). Refuses a path
/// that is not on bpffs.
result<void> unpin(const std::string& path);

/// Pins a loaded program at path (mode 0600); fails naming the program and the path (EBADF when
/// it is not loaded, or the kernel's reason: path taken, not on bpffs).
result<void> pin(const program& p, const std::string& path);

/// A program re-opened from bpffs: its own fd and what the kernel says about it. Move-only (it
/// owns the fd). Thread-safe: its members only read.
class pinned_program {
public:
    /// An empty handle (false).
    pinned_program() = default;
    /// prog_type: enum bpf_prog_type (BPF_PROG_TYPE_XDP, ...); another type is an error naming
    /// the path and both types.
    static result<pinned_program> open(const std::string& path, std::uint32_t prog_type);

    /// The program's fd (-1 when empty); still owned by this handle.
    int fd() const noexcept { return fd_.get(); }
    /// enum bpf_prog_type, as the kernel reports it.
    std::uint32_t type() const noexcept { return type_; }
    /// The kernel's name for the program (cut to 15 characters).
    const std::string& name() const noexcept { return name_; }
    /// True when the handle holds a program.
    explicit operator bool() const noexcept { return bool(fd_); }

private:
    unique_fd fd_;
    std::uint32_t type_ = 0;
    std::string name_;
};

/// A map re-opened from bpffs as a typed view (hash_map<K,V>, array<V>, ...): a map of another
/// type or key/value size is an error naming the path and both kinds.
template <class View>
result<View> open_pinned(const std::string& path) {
    BPFCO_TRY(auto m, map::from_pinned(path));
    auto v = View::make(std::move(m));
    if (!v) return failure(v.error().code.value(), "pinned map at '" + path + "': " + v.error().message);
    return v;
}

}  // namespace bpfco
