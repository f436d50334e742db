// A BPF object file: open (file or memory), adjust, load, then find programs and maps by name.
// libbpf does the ELF parsing, CO-RE relocation and loading.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/btf_layout.hpp>
#include <bpfco/loader/global.hpp>
#include <bpfco/loader/program.hpp>
#include <bpfco/maps/map.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct bpf_object;
struct bpf_map;

namespace bpfco {

// The typed streams object::ring_buffer<T>() and perf_buffer<T>() make, defined with them in
// <bpfco/streams/typed_stream.hpp> so that the loader includes nothing of the streams.
class ring_buffer;
struct ring_buffer_options;
class perf_buffer;
struct perf_buffer_options;

/// A map whose records (ring buffer or perf buffer) are T, as the generated header
/// (`<name>.bpf.types.hpp`, namespace `<name>::maps`) declares each map that BPFCO_MAP_RECORD
/// names: `obj.ring_buffer(io, app::maps::events)`.
template <class T>
struct record_map {
    using record_type = T;  ///< the records' C++ type
    std::string_view name;  ///< the map's name in the object
};

/// The outcome of object::choose_alternatives() for one group.
struct alternative_choice {
    std::string kept;                  ///< the program left on
    std::string reason;                ///< why this kernel can load and attach it
    std::vector<std::string> skipped;  ///< the group's earlier programs, each "name: why not"
};

/// Names are libbpf's: a file object is named after its file, cut at the first '.'
/// ("runqlat.bpf.o" is "runqlat"); a memory or skeleton object takes the name given (a bpftool
/// skeleton's own open uses "<file>_bpf"), truncated to the kernel's 15 characters. Internal maps
/// are found by their section (".rodata", ".data.custom") or by their kernel name
/// ("runqlat.rodata").
///
/// A default-constructed or moved-from object is empty: name() is "", programs() and map_names()
/// are empty, and every call that returns a result returns an error saying so.
///
/// Lifetime: closing (destroying) an object while what was made from it lives is safe, and
/// tested under ASan (tests/test_faults.cpp): every `link` keeps its program attached (the kernel
/// link or perf event holds a reference to the program) until the link is destroyed; every `map`,
/// typed view and stream (ring_buffer, perf_buffer, map_watch) holds its own duplicated map fd and
/// keeps working. Only `program` handles are views into the object: do not use them after it.
///
/// Thread safety: const members are safe from several threads once loaded; the set_* calls,
/// choose_alternatives() and load() change the object and need it to themselves.
class object {
public:
    /// An empty object (see above).
    object() = default;
    /// Takes `o`'s libbpf object, leaving `o` empty.
    object(object&& o) noexcept;
    /// Closes this object's libbpf object, then takes `o`'s, leaving `o` empty.
    object& operator=(object&& o) noexcept;
    object(const object&) = delete;
    object& operator=(const object&) = delete;
    ~object();

    /// Opens without loading, so programs can be switched off (set_autoload) first.
    static result<object> open_file(const std::string& path);
    /// `name` is libbpf's object name (messages, kernel names of internal maps).
    static result<object> open_memory(std::string_view name, std::span<const std::byte> elf);
    /// Loads every program with autoload on into the kernel. A verifier rejection names the
    /// program and carries the tail of the verifier log.
    result<void> load();

    /// Opens and loads in one step.
    static result<object> load_file(const std::string& path);
    /// open_memory() and load() in one step.
    static result<object> load_memory(std::string_view name, std::span<const std::byte> elf);

    /// The object embedded by a bpftool skeleton (bpfco's meson helper makes one per .bpf.c):
    /// `bpfco::object::open_skeleton("counter", counter_bpf__elf_bytes)`. The skeleton's own
    /// `counter_bpf__open()` names the object "counter_bpf": pass that name for the same kernel
    /// names of its internal maps.
    template <class ElfBytes>
    static result<object> open_skeleton(std::string_view name, ElfBytes elf_bytes) {
        std::size_t size = 0;
        const void* data = elf_bytes(&size);
        return open_memory(name, {static_cast<const std::byte*>(data), size});
    }
    /// open_skeleton() and load() in one step.
    template <class ElfBytes>
    static result<object> load_skeleton(std::string_view name, ElfBytes elf_bytes) {
        BPFCO_TRY(auto obj, open_skeleton(name, elf_bytes));
        BPFCO_TRY(obj.load());
        return obj;
    }

    /// libbpf's object name (see above); "" when empty.
    const std::string& name() const noexcept { return name_; }
    /// Whether load() has succeeded.
    bool loaded() const noexcept { return loaded_; }

    /// A program by name; an unknown name lists the names that exist.
    result<bpfco::program> program(std::string_view name) const;
    /// Every program, in libbpf's order (empty for an empty object).
    std::vector<bpfco::program> programs() const;
    /// A map by name (after load: a handle with its own fd); an unknown name lists the names.
    result<bpfco::map> map(std::string_view name) const;
    /// A typed view: `obj.map<bpfco::hash_map<K, V>>("name")`; sizes are checked.
    template <class View>
    result<View> map(std::string_view name) const {
        BPFCO_TRY(auto m, map(name));
        return View::make(std::move(m));
    }
    /// The names of every map, internal ones included (empty for an empty object).
    std::vector<std::string> map_names() const;

    /// Before load: reuse a map pinned at `path` (or pin it there after load).
    result<void> set_pin_path(std::string_view map_name, const std::string& path);
    /// Before load: the number of entries of a map (ring sizes, table sizes).
    result<void> set_max_entries(std::string_view map_name, std::uint32_t entries);

    /// Before load: for each group of alternative programs (one probe written as fentry, kprobe
    /// and tracepoint, best first), keeps the first that this kernel can load and attach (from
    /// its features, the attach target's presence in the kernel's BTF, kallsyms or tracefs) and
    /// switches the group's others off. Programs in no group are left as they are. Fails naming
    /// the group and each program's reason when none of a group can run here.
    result<std::vector<alternative_choice>> choose_alternatives(
        const std::vector<std::vector<std::string>>& groups);

    /// After load: registers the struct_ops map `map_name` (SEC(".struct_ops"): a TCP congestion
    /// control, ...) with the kernel; destroying the link unregisters it. Sockets already using a
    /// congestion control keep it. The link unregisters through this object's map: destroy it
    /// before the object. Fails naming the map: EINVAL for a map of another type,
    /// EBUSY when it is registered already, EEXIST when the kernel has another of that name, EOPNOTSUPP where the kernel has no BPF
    /// trampolines. (src/attach/struct_ops.cpp)
    result<link> attach_struct_ops(std::string_view map_name) const;

    /// libbpf's object, for what bpfco does not wrap; still owned by this object.
    bpf_object* native_handle() const noexcept { return obj_; }

    /// A global variable (.rodata, .data, .bss, .data.*, .rodata.*) by name. T must fit the
    /// variable's BTF type: the same size and kind (integer, floating-point, bool, 1-byte
    /// integer or char array, enum, struct) and signedness, and a struct member by member. An
    /// unknown name lists the program's variables. See global.hpp for what may be written when.
    template <class T>
    result<bpfco::global<T>> global(std::string_view name) const {
        constexpr detail::cpp_type type{detail::type_name<T>(), sizeof(T), detail::kind_of<T>()};
        BPFCO_TRY(auto p, find_global(name, type, detail::layout_if_mirror<T>()));
        return bpfco::global<T>(std::move(p));
    }
    /// A global by its generated name (`app::globals::targ_pid`): a global<T> of the type the
    /// generated header gives it, checked as above (a header generated from another object fails).
    template <class T>
    result<bpfco::global<T>> global(global_var<T> var) const {
        return global<T>(var.name);
    }
    /// Checks the C++ mirror T against the object's BPF struct of the same name (or `bpf_struct`):
    /// size, member count, each member's offset, size and kind. The error names the struct, the
    /// first member that differs and both layouts.
    template <mirror_struct T>
    result<void> check_layout(std::string_view bpf_struct = detail::type_name<T>()) const {
        return check_struct(bpf_struct, *detail::layout_if_mirror<T>(), {});
    }
    /// A ring buffer (perf buffer) over map `map_name` whose records are T, on an executor or an
    /// execution context (an io_context) as the stream's own constructors take. T is checked
    /// first against the record type the object declares for the map (BPFCO_MAP_RECORD), or else
    /// against its BPF struct of T's name (or `bpf_struct`), so a drifted struct fails here,
    /// naming the member, and not record by record.
    /// Needs <bpfco/streams/typed_stream.hpp> (bpfco.hpp includes it).
    template <mirror_struct T, class ExecutorOrContext, class Options = ring_buffer_options>
    result<bpfco::ring_buffer> ring_buffer(ExecutorOrContext&& ex, std::string_view map_name, Options options = {},
                                           std::string_view bpf_struct = detail::type_name<T>()) const;
    /// ring_buffer() for a perf event array: the same check, then a perf_buffer over it.
    template <mirror_struct T, class ExecutorOrContext, class Options = perf_buffer_options>
    result<bpfco::perf_buffer> perf_buffer(ExecutorOrContext&& ex, std::string_view map_name, Options options = {},
                                           std::string_view bpf_struct = detail::type_name<T>()) const;
    /// ring_buffer<T>() over a map named by the generated header (`app::maps::events`).
    template <mirror_struct T, class ExecutorOrContext, class Options = ring_buffer_options>
    result<bpfco::ring_buffer> ring_buffer(ExecutorOrContext&& ex, record_map<T> m, Options options = {}) const;
    /// perf_buffer<T>() over a map named by the generated header.
    template <mirror_struct T, class ExecutorOrContext, class Options = perf_buffer_options>
    result<bpfco::perf_buffer> perf_buffer(ExecutorOrContext&& ex, record_map<T> m, Options options = {}) const;

private:
    object(bpf_object* o, std::string name) : obj_(o), name_(std::move(name)) {}
    /// `what` names the input in errors ("object file 'x'", "object 'x' (N bytes in memory)").
    static result<object> open(std::string_view name, std::span<const std::byte> elf, const std::string& what);
    /// The error every call returns on an empty object.
    result<void> check(std::string_view what) const;
    result<bpf_map*> find_map(std::string_view name) const;
    /// Where global `var` lives, checked against C++ type `type` and, for a struct, its layout
    /// (src/loader/global.cpp).
    result<detail::global_place> find_global(std::string_view var, const detail::cpp_type& type,
                                             const detail::cpp_layout* layout) const;
    /// The BPF struct `struct_name` against `layout`; `where` says what the struct is for.
    result<void> check_struct(std::string_view struct_name, const detail::cpp_layout& layout, std::string_view where) const;
    /// The records of map `map_name` against `layout`: the struct BPFCO_MAP_RECORD declares for
    /// the map, else `struct_name`.
    result<void> check_records(std::string_view map_name, std::string_view struct_name,
                               const detail::cpp_layout& layout) const;
    bpf_object* obj_ = nullptr;
    std::string name_;
    std::string label_;  // how load errors name it: "object 'x'", with the file's path when opened from one
    bool loaded_ = false;
    std::vector<std::byte> elf_;  // open_memory's bytes: libbpf reads them in place
};

}  // namespace bpfco
