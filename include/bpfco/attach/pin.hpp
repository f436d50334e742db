// Pinning in bpffs, so that programs, links and maps outlive the process that made them, and
// re-opening them in the next one with their kind checked (a daemon upgraded in place). Every
// pinnable thing pins itself, `x.pin(path)` (program, link, map, every typed map view), and is
// re-opened with `X::from_pinned(path)` (pinned_program, link, map, every typed view); this
// header holds what is about pins as such.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/kinds.hpp>
#include <bpfco/unique_fd.hpp>

#include <string>

namespace bpfco {

/// Removes a pin from bpffs (the object lives on while anything else holds it). Refuses a path
/// that is not on bpffs.
result<void> unpin(const std::string& path);

/// A program re-opened from bpffs (pinned with program::pin): its own fd and what the kernel
/// says about it. Move-only (it owns the fd). Thread-safe: its members only read.
class pinned_program {
public:
    /// An empty handle (false).
    pinned_program() = default;
    /// Opens the program pinned at `path`; a pin of another kind (map, link) or another program
    /// type is an error naming the path and both.
    static result<pinned_program> from_pinned(const std::string& path, program_type type);

    /// The program's fd (-1 when empty); still owned by this handle.
    int fd() const noexcept { return fd_.get(); }
    /// Its type, as the kernel reports it.
    program_type type() const noexcept { return type_; }
    /// The kernel's name for the program (cut to 15 characters).
    const std::string& name() const noexcept { return name_; }
    /// True when the handle holds a program.
    explicit operator bool() const noexcept { return bool(fd_); }

private:
    unique_fd fd_;
    program_type type_ = program_type::unspec;
    std::string name_;
};

}  // namespace bpfco
