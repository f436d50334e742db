// The contract between a BPF struct and its C++ mirror: the C++ aggregate's size and each
// member's offset, size and kind (signed or unsigned integer, bool, char, float, enum, struct)
// compared with the struct the object's BTF describes, so that a struct that drifted is an error at set-up instead of silently wrong or
// dropped records later. Used by object::global (struct-typed globals), the typed map views
// (where the map's BTF names the key and value types) and object::ring_buffer / perf_buffer.
// A mismatch is an EINVAL error naming the struct, the first member that differs and both
// layouts. The checks only read BTF: safe from any thread.
#pragma once

#include <bpfco/error.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

struct btf;

namespace bpfco {

namespace detail {
template <class T> struct is_std_array : std::false_type {};
template <class T, std::size_t N> struct is_std_array<std::array<T, N>> : std::true_type {};
}  // namespace detail

/// A C++ struct the layout check can look into: a plain aggregate struct (not a union, not a
/// std::array) of at most 32 members, enumerated by structured bindings. (Boost.PFR cannot be
/// used: it counts a `char comm[16]` member as 16 fields, and every event struct has one.) A
/// generated struct with a bit-field or an anonymous member, which structured bindings cannot
/// take apart, says so with `bpfco_opaque_layout` and is checked by size and kind only.
template <class T>
concept mirror_struct = std::is_class_v<T> && std::is_aggregate_v<T> && !std::is_union_v<T> &&
                        std::is_default_constructible_v<T> && std::is_trivially_copyable_v<T> &&
                        !detail::is_std_array<T>::value && !requires { T::bpfco_opaque_layout; };

namespace detail {

/// What a value is, as far as both C++ and BTF can say: enough to catch a drift that keeps the
/// size (a signed field made unsigned, an integer made a double, two same-size fields swapped).
/// Every 1-byte integer other than bool is a `character` on both sides (`char comm[16]` and
/// `__u8 buf[16]` are written either way); an array is its element's kind. C++ bytes may view a
/// BPF integer of the same size (an address as `std::uint8_t addr[4]`); not the other way round.
enum class value_kind : std::uint8_t {
    other,         ///< compared by size only (__int128, a BTF kind C++ has no spelling for)
    boolean,       ///< bool, _Bool
    character,     ///< a 1-byte integer
    signed_int,    ///< a signed integer of 2 or more bytes
    unsigned_int,  ///< an unsigned integer of 2 or more bytes
    enumeration,   ///< an enum: matches any integer of its size
    floating,      ///< float, double, long double
    pointer,       ///< a kernel address: matches an unsigned integer of its size
    composite,     ///< a struct or union (looked into only at the top level)
};

/// T's kind (std::array and built-in arrays: the element's).
template <class T>
constexpr value_kind kind_of() {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_array_v<U>) return kind_of<std::remove_extent_t<U>>();
    else if constexpr (is_std_array<U>::value) return kind_of<typename U::value_type>();
    else if constexpr (std::is_same_v<U, bool>) return value_kind::boolean;
    else if constexpr (std::is_enum_v<U>) return value_kind::enumeration;
    else if constexpr (std::is_integral_v<U> && sizeof(U) == 1) return value_kind::character;
    else if constexpr (std::is_integral_v<U>) return std::is_signed_v<U> ? value_kind::signed_int : value_kind::unsigned_int;
    else if constexpr (std::is_floating_point_v<U>) return value_kind::floating;
    else if constexpr (std::is_pointer_v<U>) return value_kind::pointer;
    else if constexpr (std::is_class_v<U> || std::is_union_v<U>) return value_kind::composite;
    else return value_kind::other;
}

/// The C++ side of a layout: what the BTF side is compared with.
struct cpp_layout {
    std::string_view type_name;
    std::size_t size = 0;
    struct member { std::size_t offset, size; value_kind kind; };
    std::vector<member> members;
};

/// A C++ type as a whole, for a global variable: its name, size and kind.
struct cpp_type {
    std::string_view name;
    std::size_t size;
    value_kind kind;
};

/// T's name as the compiler spells it, scope and "struct " dropped ("exec_event" for
/// ns::exec_event), which is the BPF struct's name when the C++ mirror keeps it.
template <class T>
constexpr std::string_view type_name() {
    std::string_view f = __PRETTY_FUNCTION__;  // "... [with T = ns::exec_event; ...]" or "[T = ...]"
    auto b = f.find("T = ") + 4;
    auto e = f.find_first_of(";]", b);
    f = f.substr(b, e - b);
    if (f.starts_with("struct ")) f.remove_prefix(7);
    if (auto c = f.rfind("::"); c != std::string_view::npos) f.remove_prefix(c + 2);
    return f;
}

/// Converts to any member type; only named in unevaluated contexts.
struct any_member {
    template <class U>
    operator U() const noexcept;
};

// T{{x}, {x}, ...} with N braced initializers is valid for N up to T's member count: each
// inner brace initializes exactly one member (an array or struct member too, unlike brace
// elision), and one too many is an error.
template <class T, std::size_t... I>
constexpr bool brace_initializable(std::index_sequence<I...>) {
    return requires { T{{(void(I), any_member{})}...}; };
}

template <class T, std::size_t N = 0>
constexpr std::size_t member_count() {
    if constexpr (N > 32 || !brace_initializable<T>(std::make_index_sequence<N + 1>{}))
        return N;
    else
        return member_count<T, N + 1>();
}

#define BPFCO_LAYOUT_MEMBERS(N, ...)                                                             \
    if constexpr (n == N) {                                                                      \
        const auto& [__VA_ARGS__] = t;                                                           \
        each(__VA_ARGS__);                                                                       \
    } else

template <class T>
cpp_layout layout_of() {
    constexpr std::size_t n = member_count<T>();
    static_assert(n >= 1 && n <= 32, "the layout check handles structs of 1 to 32 members");
    cpp_layout l{type_name<T>(), sizeof(T), {}};
    const T t{};
    const auto* base = reinterpret_cast<const std::byte*>(&t);
    auto each = [&](const auto&... m) {
        (l.members.push_back({static_cast<std::size_t>(reinterpret_cast<const std::byte*>(&m) - base), sizeof m,
                              kind_of<std::remove_cvref_t<decltype(m)>>()}),
         ...);
    };
    BPFCO_LAYOUT_MEMBERS(1, m0)
    BPFCO_LAYOUT_MEMBERS(2, m0, m1)
    BPFCO_LAYOUT_MEMBERS(3, m0, m1, m2)
    BPFCO_LAYOUT_MEMBERS(4, m0, m1, m2, m3)
    BPFCO_LAYOUT_MEMBERS(5, m0, m1, m2, m3, m4)
    BPFCO_LAYOUT_MEMBERS(6, m0, m1, m2, m3, m4, m5)
    BPFCO_LAYOUT_MEMBERS(7, m0, m1, m2, m3, m4, m5, m6)
    BPFCO_LAYOUT_MEMBERS(8, m0, m1, m2, m3, m4, m5, m6, m7)
    BPFCO_LAYOUT_MEMBERS(9, m0, m1, m2, m3, m4, m5, m6, m7, m8)
    BPFCO_LAYOUT_MEMBERS(10, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9)
    BPFCO_LAYOUT_MEMBERS(11, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10)
    BPFCO_LAYOUT_MEMBERS(12, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11)
    BPFCO_LAYOUT_MEMBERS(13, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12)
    BPFCO_LAYOUT_MEMBERS(14, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13)
    BPFCO_LAYOUT_MEMBERS(15, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14)
    BPFCO_LAYOUT_MEMBERS(16, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15)
    BPFCO_LAYOUT_MEMBERS(17, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16)
    BPFCO_LAYOUT_MEMBERS(18, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17)
    BPFCO_LAYOUT_MEMBERS(19, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18)
    BPFCO_LAYOUT_MEMBERS(20, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19)
    BPFCO_LAYOUT_MEMBERS(21, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20)
    BPFCO_LAYOUT_MEMBERS(22, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21)
    BPFCO_LAYOUT_MEMBERS(23, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22)
    BPFCO_LAYOUT_MEMBERS(24, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22, m23)
    BPFCO_LAYOUT_MEMBERS(25, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22, m23, m24)
    BPFCO_LAYOUT_MEMBERS(26, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22, m23, m24, m25)
    BPFCO_LAYOUT_MEMBERS(27, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22, m23, m24, m25, m26)
    BPFCO_LAYOUT_MEMBERS(28, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22, m23, m24, m25, m26, m27)
    BPFCO_LAYOUT_MEMBERS(29, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22, m23, m24, m25, m26, m27, m28)
    BPFCO_LAYOUT_MEMBERS(30, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22, m23, m24, m25, m26, m27, m28, m29)
    BPFCO_LAYOUT_MEMBERS(31, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22, m23, m24, m25, m26, m27, m28, m29, m30)
    BPFCO_LAYOUT_MEMBERS(32, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m20, m21, m22, m23, m24, m25, m26, m27, m28, m29, m30, m31)
    {}
    return l;
}
#undef BPFCO_LAYOUT_MEMBERS

/// Compares BTF type `type_id` (typedefs and modifiers skipped) with `cpp`. Only a struct on
/// the BPF side is looked into; `what` says where the type is used, for the message.
result<void> check_layout(const btf* b, std::uint32_t type_id, const cpp_layout& cpp, std::string_view what);
/// Compares BTF type `type_id` with C++ type `cpp` as a whole: the sizes and the kinds (an
/// integer is not a double, an unsigned is not a signed, a bool is only a bool). The message
/// names both types.
result<void> check_type(const btf* b, std::uint32_t type_id, const cpp_type& cpp, std::string_view what);
/// The id of the struct named `name` in `b`; an unknown name lists the structs that exist.
result<std::uint32_t> find_struct(const btf* b, std::string_view name, std::string_view where);
/// The key and value layouts against the BTF the kernel holds for the map (BPF_OBJ_GET_INFO:
/// btf_id, key and value type ids); a map without BTF, or a type that is not a struct, passes.
/// Without CAP_SYS_ADMIN the kernel does not hand out a map's BTF: the check is skipped and the
/// BPFCO_DEBUG log says so (the same struct is still checked by object::check_layout(), which
/// reads the object's own BTF).
result<void> check_map_layouts(int map_fd, std::string_view map_name, const cpp_layout* key, const cpp_layout* value);

/// The struct BPFCO_MAP_RECORD declares for the records of map `map_name` (its BTF id), 0 when
/// the object declares none; `object_label` names the object when the marker is not one.
result<std::uint32_t> map_record_struct(const btf* b, std::string_view object_label, std::string_view map_name);

/// What an object declares about the records of one of its ring or perf buffer maps
/// (BPFCO_MAP_RECORD for the map, BPFCO_RECORD_TYPE structs), with its own copy of the object's
/// BTF: the map handle object::map() makes carries it, and streams outlive the object. The
/// streams' as<T>() check T against it once per T. Immutable: safe from any thread.
class record_declaration {
public:
    /// Null when `b` declares nothing about the records of `map_name`.
    static result<std::shared_ptr<const record_declaration>> of(const btf* b, std::string_view object_label,
                                                                 std::string_view map_name);
    /// `layout` against the declared record type: the struct BPFCO_MAP_RECORD declares for the
    /// map, else the BPFCO_RECORD_TYPE struct of layout's name; success when neither exists
    /// (the stream then checks sizes only). The error names the struct, the first member that
    /// differs and both layouts, as object::ring_buffer<T>()'s does.
    result<void> check(const cpp_layout& layout) const;

    record_declaration(std::shared_ptr<const btf> b, std::string what, std::uint32_t map_struct)
        : btf_(std::move(b)), what_(std::move(what)), map_struct_(map_struct) {}

private:
    std::shared_ptr<const btf> btf_;
    std::string what_;  // "object 'x': records of map 'events'"
    std::uint32_t map_struct_;
};

/// T's layout when the check can look into it, else nothing.
template <class T>
const cpp_layout* layout_if_mirror() {
    if constexpr (mirror_struct<T>) {
        static const cpp_layout l = layout_of<T>();
        return &l;
    } else {
        return nullptr;
    }
}

/// Typed views: the key and value types against the BTF the kernel holds for the map.
template <class K, class V>
result<void> check_map_types(int map_fd, std::string_view map_name) {
    const cpp_layout* k = layout_if_mirror<K>();
    const cpp_layout* v = layout_if_mirror<V>();
    if (!k && !v) return boost::outcome_v2::success();
    return check_map_layouts(map_fd, map_name, k, v);
}

}  // namespace detail
}  // namespace bpfco
