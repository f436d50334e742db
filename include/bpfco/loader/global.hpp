// A BPF global variable (.rodata, .data, .bss, .data.*, .rodata.*) seen as a T, found by name
// through the object's BTF: `obj.global(app::globals::targ_pid)` with the name and T generated
// from the object (bpfco-gen-types), or `obj.global<std::uint32_t>("targ_pid")`. Before load it is the
// object's initial image (every variable may be set, .rodata only then); after load it is the
// map's memory, mmapped, so reads and writes are plain memory accesses with no syscall.
#pragma once

#include <bpfco/error.hpp>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

namespace bpfco {

namespace detail {
/// Where a variable lives: the object's image (before load) or our mapping of its map (after).
struct global_place {
    std::byte* data = nullptr;
    std::string object;  // how messages name the object: "object 'x'", with its file when opened from one
    std::string name;
    std::string section;
    bool read_only = false;          // .rodata after load: the kernel froze it
    const void* image_of = nullptr;  // before load: the libbpf map whose initial image `data` is in
    std::shared_ptr<void> mapping;   // after load: unmapped with the last handle
};
/// An error when the handle cannot be written (.rodata after load, or a handle taken before
/// load used after it).
result<void> check_writable(const global_place& p);
}  // namespace detail

/// A global variable's name and C++ type, as the generated header (`<name>.bpf.types.hpp`,
/// namespace `<name>::globals`) declares each: `obj.global(app::globals::targ_pid)` returns a
/// global<T> of the generated T, so a handle of another type does not compile.
template <class T>
struct global_var {
    using value_type = T;   ///< the variable's C++ type
    std::string_view name;  ///< the variable's name in the object
};

/// One BPF global variable as a T. Made by object::global<T>(name), which fails naming the
/// object and the variable when it does not exist or T does not fit its BTF type: a different
/// size, another kind (integer, floating-point, bool, 1-byte integer or char array, enum,
/// struct), another signedness, or for a struct a member that differs.
/// Copyable handle; it points into the object (before load) or into its own mapping of the
/// map (after load), so a handle taken before load must not outlive the object, and one taken
/// after load keeps the map's memory mapped (the kernel map lives as long as the mapping).
/// Thread-safety: handles may be used from several threads at once; get() and set() are plain
/// copies that can tear against concurrent writers, load(), store() and fetch_add() are atomic
/// (also against the BPF program's atomic operations).
template <class T>
class global {
    static_assert(std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>,
                  "a global is copied as bytes: its type must be trivially copyable");

public:
    /// An empty handle; only assignment is valid on it.
    global() = default;

    /// The variable's name in the BPF object.
    const std::string& name() const noexcept { return p_.name; }
    /// ".bss", ".rodata", ".data.custom", ...
    const std::string& section() const noexcept { return p_.section; }

    /// Before load: any variable. After load: .data, .bss and .data.* through the mapping;
    /// .rodata (frozen by the kernel) is an error naming the variable.
    result<void> set(const T& v) const {
        BPFCO_TRY(writable());
        std::memcpy(p_.data, &v, sizeof v);
        return boost::outcome_v2::success();
    }
    /// A copy of the current value (for a struct or array the program may be writing: not one
    /// atomic snapshot; use load() on scalars for that).
    T get() const noexcept {
        T v;
        std::memcpy(&v, p_.data, sizeof v);
        return v;
    }

    /// Atomic access for counters shared with the program (__sync_fetch_and_add on the BPF
    /// side). Writes fail as set() does. load() reads atomically.
    T load(std::memory_order o = std::memory_order_seq_cst) const noexcept
        requires std::is_integral_v<T>
    {
        return ref().load(o);
    }
    /// Writes atomically; fails as set() does.
    result<void> store(T v, std::memory_order o = std::memory_order_seq_cst) const
        requires std::is_integral_v<T>
    {
        BPFCO_TRY(writable());
        ref().store(v, o);
        return boost::outcome_v2::success();
    }
    /// Adds atomically; returns the value before the addition, or fails as set() does.
    result<T> fetch_add(T v, std::memory_order o = std::memory_order_seq_cst) const
        requires std::is_integral_v<T>
    {
        BPFCO_TRY(writable());
        return ref().fetch_add(v, o);
    }

private:
    friend class object;
    explicit global(detail::global_place p) : p_(std::move(p)) {}
    // A handle taken after load on .data/.bss (the usual case for counters) costs one branch.
    result<void> writable() const {
        if (p_.read_only || p_.image_of) [[unlikely]]
            return detail::check_writable(p_);
        return boost::outcome_v2::success();
    }
    std::atomic_ref<T> ref() const noexcept {
        // The section places the variable at its natural alignment (BTF DATASEC offsets come
        // from the compiler) and the mapping is page-aligned, so atomic_ref's alignment holds.
        return std::atomic_ref<T>(*reinterpret_cast<T*>(p_.data));
    }
    detail::global_place p_;
};

}  // namespace bpfco
