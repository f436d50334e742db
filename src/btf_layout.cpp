#include <bpfco/btf_layout.hpp>

#include "internal/libbpf_log.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <fmt/format.h>

namespace bpfco::detail {

namespace {
struct bpf_member {
    std::string name;
    std::size_t offset, size;
    bool bitfield;
    value_kind kind;
};

std::uint32_t skip_modifiers(const btf* b, std::uint32_t id) {
    for (const btf_type* t; (t = btf__type_by_id(b, id)) && (btf_is_typedef(t) || btf_is_mod(t));) id = t->type;
    return id;
}

value_kind kind_of_btf(const btf* b, std::uint32_t id) {
    const btf_type* t = btf__type_by_id(b, skip_modifiers(b, id));
    if (!t) return value_kind::other;
    if (btf_is_array(t)) return kind_of_btf(b, btf_array(t)->type);
    if (btf_is_int(t)) {
        if (btf_int_encoding(t) & BTF_INT_BOOL) return value_kind::boolean;
        if (t->size == 1) return value_kind::character;
        if (t->size > 8) return value_kind::other;
        return btf_int_encoding(t) & BTF_INT_SIGNED ? value_kind::signed_int : value_kind::unsigned_int;
    }
    if (btf_is_any_enum(t)) return value_kind::enumeration;
    if (btf_is_float(t)) return value_kind::floating;
    if (btf_is_ptr(t)) return value_kind::pointer;
    if (btf_is_composite(t)) return value_kind::composite;
    return value_kind::other;
}

bool kinds_match(value_kind bpf, value_kind cpp) {
    using enum value_kind;
    if (bpf == cpp || bpf == other || cpp == other) return true;
    auto integer = [](value_kind k) { return k == character || k == signed_int || k == unsigned_int; };
    if ((bpf == enumeration && integer(cpp)) || (cpp == enumeration && integer(bpf))) return true;
    // C++ bytes over a BPF integer of the same size (an address kept in network order as
    // `std::uint8_t addr[4]`) are a raw view, not a drift; the reverse, chars read as numbers, is.
    if (cpp == character && (integer(bpf) || bpf == enumeration || bpf == pointer)) return true;
    return (bpf == pointer && cpp == unsigned_int) || (cpp == pointer && bpf == unsigned_int);
}

std::string_view kind_name(value_kind k) {
    switch (k) {
    case value_kind::boolean: return "bool";
    case value_kind::character: return "char";
    case value_kind::signed_int: return "signed integer";
    case value_kind::unsigned_int: return "unsigned integer";
    case value_kind::enumeration: return "enum";
    case value_kind::floating: return "floating-point";
    case value_kind::pointer: return "pointer";
    case value_kind::composite: return "struct";
    case value_kind::other: break;
    }
    return "value";
}

// The name a message gives a BTF type: its own or its typedef's ("__u64"), else its kind.
std::string btf_type_name(const btf* b, std::uint32_t id) {
    for (const btf_type* t; (t = btf__type_by_id(b, id));) {
        if (btf_is_array(t))
            return fmt::format("{}[{}]", btf_type_name(b, btf_array(t)->type), btf_array(t)->nelems);
        if (btf_is_mod(t)) { id = t->type; continue; }
        if (t->name_off) {
            const char* n = btf__name_by_offset(b, t->name_off);
            return btf_is_struct(t) ? fmt::format("struct {}", n) : btf_is_union(t) ? fmt::format("union {}", n) : n;
        }
        if (btf_is_ptr(t)) return "pointer";
        break;
    }
    return "(anonymous)";
}

std::vector<bpf_member> members_of(const btf* b, const btf_type* t) {
    std::vector<bpf_member> out;
    const btf_member* m = btf_members(t);
    for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
        const char* n = btf__name_by_offset(b, m[i].name_off);
        const long size = btf__resolve_size(b, m[i].type);
        out.push_back({n && *n ? n : "(anonymous)", btf_member_bit_offset(t, i) / 8,
                       size < 0 ? 0 : static_cast<std::size_t>(size), btf_member_bitfield_size(t, i) != 0,
                       kind_of_btf(b, m[i].type)});
    }
    return out;
}

std::string describe(const std::vector<bpf_member>& ms, std::size_t size) {
    std::string out = "{";
    for (auto& m : ms)
        out += fmt::format("{}{} at {}, {} bytes, {}{}", out.size() > 1 ? "; " : "", m.name, m.offset, m.size,
                           kind_name(m.kind), m.bitfield ? " (bit-field)" : "");
    return out + fmt::format("}} ({} bytes)", size);
}

std::string describe(const cpp_layout& l) {
    std::string out = "{";
    for (std::size_t i = 0; i < l.members.size(); ++i)
        out += fmt::format("{}#{} at {}, {} bytes, {}", i ? "; " : "", i, l.members[i].offset, l.members[i].size,
                           kind_name(l.members[i].kind));
    return out + fmt::format("}} ({} bytes)", l.size);
}
}  // namespace

result<void> check_layout(const btf* b, std::uint32_t type_id, const cpp_layout& cpp, std::string_view what) {
    const int id = btf__resolve_type(b, type_id);
    const btf_type* t = id > 0 ? btf__type_by_id(b, static_cast<std::uint32_t>(id)) : nullptr;
    if (!t || !btf_is_struct(t)) return boost::outcome_v2::success();
    const std::string sname = btf__name_by_offset(b, t->name_off);
    const auto bpf = members_of(b, t);
    std::string diff;
    const std::size_t n = std::min(bpf.size(), cpp.members.size());
    for (std::size_t i = 0; i < n && diff.empty(); ++i) {
        const auto& c = cpp.members[i];
        if (bpf[i].bitfield || bpf[i].offset != c.offset || bpf[i].size != c.size || !kinds_match(bpf[i].kind, c.kind))
            diff = fmt::format("member {} '{}' differs (BPF: at {}, {} bytes, {}{}; C++: at {}, {} bytes, {})", i,
                               bpf[i].name, bpf[i].offset, bpf[i].size, kind_name(bpf[i].kind),
                               bpf[i].bitfield ? ", a bit-field" : "", c.offset, c.size, kind_name(c.kind));
    }
    if (diff.empty() && bpf.size() > n)
        diff = fmt::format("member {} '{}' is missing in C++ ({} members in BPF, {} in C++)", n, bpf[n].name,
                           bpf.size(), cpp.members.size());
    if (diff.empty() && cpp.members.size() > n)
        diff = fmt::format("C++ has {} members, BPF only {}: member {} has no BPF counterpart", cpp.members.size(),
                           bpf.size(), n);
    if (diff.empty() && t->size != cpp.size)
        diff = fmt::format("sizes differ (BPF {} bytes, C++ {} bytes)", t->size, cpp.size);
    if (diff.empty()) return boost::outcome_v2::success();
    return failure(EINVAL, fmt::format("{}: struct '{}' and C++ '{}' do not match: {}\n  BPF: {}\n  C++: {}", what,
                                       sname, cpp.type_name, diff, describe(bpf, t->size), describe(cpp)));
}

result<void> check_type(const btf* b, std::uint32_t type_id, const cpp_type& cpp, std::string_view what) {
    const long size = btf__resolve_size(b, type_id);
    const value_kind kind = kind_of_btf(b, type_id);
    if (size == static_cast<long>(cpp.size) && kinds_match(kind, cpp.kind)) return boost::outcome_v2::success();
    return failure(EINVAL, fmt::format("{}: type mismatch: the variable is {} ({}, {} bytes), the C++ type is {} ({}, "
                                       "{} bytes)",
                                       what, btf_type_name(b, type_id), kind_name(kind), size, cpp.name,
                                       kind_name(cpp.kind), cpp.size));
}

result<std::uint32_t> find_struct(const btf* b, std::string_view name, std::string_view where) {
    std::string n(name);
    const int id = btf__find_by_name_kind(b, n.c_str(), BTF_KIND_STRUCT);
    if (id > 0) return static_cast<std::uint32_t>(id);
    std::string names;
    for (std::uint32_t i = 1; i < btf__type_cnt(b); ++i) {
        const btf_type* t = btf__type_by_id(b, i);
        if (!btf_is_struct(t) || t->name_off == 0) continue;
        names += fmt::format("{}{}", names.empty() ? "" : ", ", btf__name_by_offset(b, t->name_off));
    }
    return failure(ENOENT, fmt::format("{}: no struct named '{}' in its BTF (structs: {}); name the BPF struct "
                                       "explicitly if the C++ type is named differently, and declare "
                                       "BPFCO_RECORD_TYPE({}) in the BPF C if it is used only through pointers",
                                       where, name, names.empty() ? "none" : names, name));
}

result<void> check_map_layouts(int map_fd, std::string_view map_name, const cpp_layout* key, const cpp_layout* value) {
    bpf_map_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0)
        return failure(errno, fmt::format("map '{}': map info: {}", map_name, std::strerror(errno)));
    if (info.btf_id == 0) return boost::outcome_v2::success();
    std::unique_ptr<btf, void (*)(btf*)> b(btf__load_from_kernel_by_id(info.btf_id), btf__free);
    if (!b && (errno == EPERM || errno == EACCES)) {
        // Reading a map's BTF back from the kernel (BPF_BTF_GET_FD_BY_ID) needs CAP_SYS_ADMIN,
        // which a least-privilege process (CAP_BPF only, as under monitord's systemd unit) lacks.
        // The map itself is usable, so the view is made; the skipped check is logged, not hidden.
        debug_log(fmt::format("map '{}': key/value layouts not checked against its BTF (id {}): reading "
                              "BTF from the kernel needs CAP_SYS_ADMIN",
                              map_name, info.btf_id));
        return boost::outcome_v2::success();
    }
    if (!b) return failure(errno, fmt::format("map '{}': its BTF (id {}): {}", map_name, info.btf_id, std::strerror(errno)));
    const std::string what = fmt::format("map '{}'", map_name);
    if (key && info.btf_key_type_id) { BPFCO_TRY(check_layout(b.get(), info.btf_key_type_id, *key, what + " key")); }
    if (value && info.btf_value_type_id) {
        BPFCO_TRY(check_layout(b.get(), info.btf_value_type_id, *value, what + " value"));
    }
    return boost::outcome_v2::success();
}

result<std::uint32_t> map_record_struct(const btf* b, std::string_view object_label, std::string_view map_name) {
    // BPFCO_MAP_RECORD(map, type) declares `struct type *bpfco_map_record__map`.
    const std::string marker = "bpfco_map_record__" + std::string(map_name);
    const int var = btf__find_by_name_kind(b, marker.c_str(), BTF_KIND_VAR);
    if (var <= 0) return 0u;
    const int ptr = btf__resolve_type(b, btf__type_by_id(b, static_cast<std::uint32_t>(var))->type);
    const btf_type* p = ptr > 0 ? btf__type_by_id(b, static_cast<std::uint32_t>(ptr)) : nullptr;
    if (!p || !btf_is_ptr(p))
        return failure(EINVAL, fmt::format("{}: map '{}': {} is not a BPFCO_MAP_RECORD declaration", object_label,
                                           map_name, marker));
    return static_cast<std::uint32_t>(p->type);
}

result<std::shared_ptr<const record_declaration>> record_declaration::of(const btf* b, std::string_view object_label,
                                                                        std::string_view map_name) {
    BPFCO_TRY(const std::uint32_t map_struct, map_record_struct(b, object_label, map_name));
    bool record_types = false;
    for (std::uint32_t i = 1; i < btf__type_cnt(b) && !map_struct && !record_types; ++i) {
        const btf_type* t = btf__type_by_id(b, i);
        record_types = btf_is_var(t) && std::string_view(btf__name_by_offset(b, t->name_off)).starts_with("bpfco_record_");
    }
    if (!map_struct && !record_types) return std::shared_ptr<const record_declaration>();
    std::uint32_t size = 0;
    const void* raw = btf__raw_data(b, &size);
    std::shared_ptr<const btf> copy(raw ? btf__new(raw, size) : nullptr, btf__free);
    if (!copy)
        return failure(errno ? errno : ENOMEM, fmt::format("{}: map '{}': copying the object's BTF for its record "
                                                           "type: {}", object_label, map_name, std::strerror(errno)));
    return std::make_shared<const record_declaration>(std::move(copy),
                                                      fmt::format("{}: records of map '{}'", object_label, map_name),
                                                      map_struct);
}

result<void> record_declaration::check(const cpp_layout& layout) const {
    if (map_struct_) return check_layout(btf_.get(), map_struct_, layout, what_ + " (declared by BPFCO_MAP_RECORD)");
    const std::string marker = "bpfco_record_" + std::string(layout.type_name);
    if (btf__find_by_name_kind(btf_.get(), marker.c_str(), BTF_KIND_VAR) <= 0) return boost::outcome_v2::success();
    BPFCO_TRY(const std::uint32_t id, find_struct(btf_.get(), layout.type_name, what_));
    return check_layout(btf_.get(), id, layout, what_ + " (declared by BPFCO_RECORD_TYPE)");
}

}  // namespace bpfco::detail
