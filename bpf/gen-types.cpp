// bpfco-gen-types: the C++ side of a BPF object's contract, generated from its BTF, so that the
// compiler and not a reviewer keeps both sides equal (as bpf2go and libbpf-cargo do for Go and
// Rust). Run by bpf-skel.sh beside `bpftool gen skeleton`; written in C++ against libbpf's BTF
// API because building bpfco already needs both, and nothing else.
//
// usage: bpfco-gen-types OBJECT.o NAMESPACE OUT.hpp
//
// Emits, in namespace NAMESPACE:
//  - every struct the object marks as a record type (BPFCO_RECORD_TYPE, BPFCO_MAP_RECORD), every
//    struct a global or a map's key or value is, and the structs, unions and enums these contain,
//    with BTF's member offsets and sizes asserted at compile time;
//  - `globals::<name>`: a bpfco::global_var<T> for each global variable (.rodata, .data, .bss and
//    their named subsections), T the C++ type of its BTF type, for object::global();
//  - `maps::<name>`: a bpfco::record_map<T> for each map whose records BPFCO_MAP_RECORD declares,
//    for object::ring_buffer() and object::perf_buffer();
//  - at global scope, a using-declaration for each named struct, union or enum a global has:
//    the bpftool skeleton names them unqualified, so this header goes before the skeleton.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view record_prefix = "bpfco_record_";
constexpr std::string_view map_record_prefix = "bpfco_map_record__";

const std::set<std::string_view> cpp_keywords = {
    "alignas", "alignof", "and", "asm", "bool", "catch", "char8_t", "class", "concept", "consteval",
    "constexpr", "constinit", "const_cast", "co_await", "co_return", "co_yield", "decltype", "delete",
    "dynamic_cast", "explicit", "export", "false", "friend", "mutable", "namespace", "new", "noexcept",
    "not", "nullptr", "operator", "or", "private", "protected", "public", "reinterpret_cast", "requires",
    "static_assert", "static_cast", "template", "this", "thread_local", "throw", "true", "try", "typeid",
    "typename", "using", "virtual", "wchar_t", "xor"};

std::string identifier(std::string_view name) {
    std::string s(name);
    if (cpp_keywords.count(name)) s += '_';
    return s;
}

class generator {
public:
    explicit generator(const btf* b) : b_(b) {}

    std::string name(std::uint32_t id) const { return btf__name_by_offset(b_, btf__type_by_id(b_, id)->name_off); }

    // Typedefs and qualifiers dropped: the C++ side names the fixed-width type itself.
    std::uint32_t strip(std::uint32_t id) const {
        for (;;) {
            const btf_type* t = btf__type_by_id(b_, id);
            if (!t || !(btf_is_typedef(t) || btf_is_mod(t) || btf_kind(t) == BTF_KIND_TYPE_TAG)) return id;
            id = t->type;
        }
    }

    std::size_t align(std::uint32_t id) const {
        id = strip(id);
        const btf_type* t = btf__type_by_id(b_, id);
        if (btf_is_array(t)) return align(btf_array(t)->type);
        if (btf_is_composite(t)) {
            std::size_t a = 1;
            for (std::uint16_t i = 0; i < btf_vlen(t); ++i) a = std::max(a, align(btf_members(t)[i].type));
            return a;
        }
        const long size = btf__resolve_size(b_, id);
        return size > 0 ? static_cast<std::size_t>(size) : 1;
    }

    // The C++ spelling of a scalar or named type; arrays are declarators (decl) or std::array.
    std::string scalar(std::uint32_t id) {
        id = strip(id);
        const btf_type* t = btf__type_by_id(b_, id);
        if (btf_is_int(t)) {
            const auto enc = btf_int_encoding(t);
            const std::string n = name(id);
            if (enc & BTF_INT_BOOL) return "bool";
            if (n == "char") return "char";
            const bool s = enc & BTF_INT_SIGNED;
            switch (t->size) {
            case 1: return s ? "std::int8_t" : "std::uint8_t";
            case 2: return s ? "std::int16_t" : "std::uint16_t";
            case 4: return s ? "std::int32_t" : "std::uint32_t";
            case 8: return s ? "std::int64_t" : "std::uint64_t";
            case 16: return s ? "__int128" : "unsigned __int128";
            }
        }
        if (btf_is_float(t)) return t->size == 4 ? "float" : t->size == 8 ? "double" : "long double";
        if (btf_is_ptr(t)) return "std::uint64_t /* a kernel address */";
        if (btf_is_any_enum(t)) {
            if (t->name_off == 0) return enum_base(t);
            define(id);
            return identifier(name(id));
        }
        if (btf_is_composite(t) && t->name_off != 0) {
            define(id);
            return identifier(name(id));
        }
        return {};
    }

    // `decl` declared as type `id`: "std::uint32_t pid", "char comm[16]", an inline anonymous
    // struct. Returns "" for a type C++ cannot spell.
    std::string declaration(std::uint32_t id, const std::string& decl, int indent) {
        id = strip(id);
        const btf_type* t = btf__type_by_id(b_, id);
        if (btf_is_array(t)) {
            const auto* a = btf_array(t);
            return declaration(a->type, decl + "[" + std::to_string(a->nelems) + "]", indent);
        }
        if (btf_is_composite(t) && t->name_off == 0) return body(id, indent) + " " + decl;
        const std::string s = scalar(id);
        return s.empty() ? std::string() : s + " " + decl;
    }

    // A global's type as one C++ type (global_var<T> takes a type, not a declarator).
    std::string value_type(std::uint32_t id) {
        id = strip(id);
        const btf_type* t = btf__type_by_id(b_, id);
        if (btf_is_array(t)) {
            const std::string e = value_type(btf_array(t)->type);
            return e.empty() ? e : "std::array<" + e + ", " + std::to_string(btf_array(t)->nelems) + ">";
        }
        return scalar(id);
    }

    void define(std::uint32_t id) {
        id = strip(id);
        if (done_.count(id)) return;
        done_.insert(id);
        const btf_type* t = btf__type_by_id(b_, id);
        if (btf_is_any_enum(t)) {
            std::ostringstream o;
            o << "enum " << identifier(name(id)) << " : " << enum_base(t) << " {\n";
            for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
                const bool e64 = btf_is_enum64(t);
                const char* n = btf__name_by_offset(b_, e64 ? btf_enum64(t)[i].name_off : btf_enum(t)[i].name_off);
                // BTF keeps 32-bit values as __s32 and 64-bit ones as two __u32: kflag says signed.
                const std::uint64_t raw = e64 ? btf_enum64_value(btf_enum64(t) + i)
                                              : static_cast<std::uint32_t>(btf_enum(t)[i].val);
                o << "    " << identifier(n) << " = ";
                if (!btf_kflag(t))
                    o << raw << "u";
                else if (e64)
                    o << static_cast<std::int64_t>(raw);
                else
                    o << static_cast<std::int32_t>(static_cast<std::uint32_t>(raw));
                o << ",\n";
            }
            o << "};\n\n";
            defs_ += o.str();
            return;
        }
        // Members' named types are defined first (by scalar()), so they precede this one.
        std::string b = body(id, 0);
        std::ostringstream o;
        o << b << ";\n";
        o << "static_assert(sizeof(" << identifier(name(id)) << ") == " << t->size << ");\n";
        for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
            const btf_member& m = btf_members(t)[i];
            if (m.name_off == 0 || btf_member_bitfield_size(t, i)) continue;
            o << "static_assert(offsetof(" << identifier(name(id)) << ", "
              << identifier(btf__name_by_offset(b_, m.name_off)) << ") == " << btf_member_bit_offset(t, i) / 8
              << ");\n";
        }
        defs_ += o.str() + "\n";
    }

    void global(const std::string& var, std::uint32_t type, const std::string& section) {
        const std::string t = value_type(type);
        if (t.empty()) {
            skipped_ += "// global '" + var + "' (" + section + "): a type C++ cannot spell here\n";
            return;
        }
        globals_ += "inline constexpr bpfco::global_var<" + t + "> " + identifier(var) + "{\"" + var + "\"};\n";
        std::uint32_t id = strip(type);
        while (btf_is_array(btf__type_by_id(b_, id))) id = strip(btf_array(btf__type_by_id(b_, id))->type);
        const btf_type* named = btf__type_by_id(b_, id);
        if ((btf_is_composite(named) || btf_is_any_enum(named)) && named->name_off) skeleton_names_.insert(name(id));
    }

    void map_record(const std::string& map, std::uint32_t ptr_type) {
        const btf_type* p = btf__type_by_id(b_, strip(ptr_type));
        if (!btf_is_ptr(p)) return;
        const std::string t = scalar(p->type);
        if (t.empty()) return;
        maps_ += "inline constexpr bpfco::record_map<" + t + "> " + identifier(map) + "{\"" + map + "\"};\n";
    }

    std::string text(const std::string& ns, const std::string& source) const {
        std::ostringstream o;
        o << "// Generated by bpfco-gen-types from the BTF of " << source << ": do not edit.\n"
          << "// The C++ types of its records and globals, and typed names for object::global() and\n"
          << "// object::ring_buffer() (README: \"Generated types\").\n"
          << "#pragma once\n\n#include <bpfco/loader/global.hpp>\n#include <bpfco/loader/object.hpp>\n\n"
          << "#include <array>\n#include <cstddef>\n#include <cstdint>\n\n"
          << "namespace " << ns << " {\n\n"
          << defs_ << "namespace globals {\n" << globals_ << skipped_ << "}  // namespace globals\n\n"
          << "namespace maps {\n" << maps_ << "}  // namespace maps\n\n"
          << "}  // namespace " << ns << "\n";
        if (!skeleton_names_.empty()) {
            // bpftool's skeleton declares the object's sections with these types unqualified
            // (`struct stats stats;`): include this header before the skeleton.
            o << "\n";
            for (const auto& n : skeleton_names_) o << "using " << ns << "::" << identifier(n) << ";\n";
        }
        return o.str();
    }

private:
    std::string enum_base(const btf_type* t) const {
        const bool s = btf_kflag(t);
        switch (t->size) {
        case 1: return s ? "std::int8_t" : "std::uint8_t";
        case 2: return s ? "std::int16_t" : "std::uint16_t";
        case 8: return s ? "std::int64_t" : "std::uint64_t";
        default: return s ? "std::int32_t" : "std::uint32_t";
        }
    }

    // "struct name {...}" (or union), packed when BTF's offsets are not the natural ones.
    std::string body(std::uint32_t id, int indent) {
        const btf_type* t = btf__type_by_id(b_, id);
        const std::string pad(static_cast<std::size_t>(indent), ' ');
        bool natural = true, opaque = false;
        std::size_t max_align = 1;
        std::ostringstream members;
        for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
            const btf_member& m = btf_members(t)[i];
            const std::uint32_t bits = btf_member_bitfield_size(t, i);
            const std::uint32_t off = btf_member_bit_offset(t, i);
            const std::size_t a = align(m.type);
            max_align = std::max(max_align, a);
            if (!bits && (off % 8 || (off / 8) % a)) natural = false;
            const std::string n = m.name_off ? identifier(btf__name_by_offset(b_, m.name_off)) : std::string();
            std::string d = declaration(m.type, n, indent + 4);
            if (d.empty()) {
                const long size = btf__resolve_size(b_, m.type);
                d = "unsigned char " + n + "[" + std::to_string(size > 0 ? size : 0) + "] /* a type C++ cannot spell */";
            }
            if (bits) d += " : " + std::to_string(bits);
            opaque = opaque || bits || n.empty();
            members << pad << "    " << d << ";\n";
        }
        if (t->size % max_align) natural = false;
        std::ostringstream o;
        o << (btf_is_union(t) ? "union " : "struct ") << (natural ? "" : "[[gnu::packed]] ")
          << (t->name_off ? identifier(name(id)) + " " : std::string()) << "{\n"
          << members.str();
        // C++ cannot enumerate a struct with a bit-field or an anonymous member (structured
        // bindings): the member-by-member check skips it, the size and asserts above remain.
        if (opaque && t->name_off) o << pad << "    static constexpr bool bpfco_opaque_layout = true;\n";
        o << pad << "}";
        return o.str();
    }

    const btf* b_;
    std::set<std::uint32_t> done_;
    std::set<std::string> skeleton_names_;  // named types of globals, which the skeleton names
    std::string defs_, globals_, maps_, skipped_;
};

bool data_section(std::string_view s) {
    return s.starts_with(".rodata") || s.starts_with(".data") || s.starts_with(".bss");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: bpfco-gen-types OBJECT.o NAMESPACE OUT.hpp\n");
        return 2;
    }
    const std::string path = argv[1], ns = argv[2], out = argv[3];
    btf* b = btf__parse_elf(path.c_str(), nullptr);
    if (!b) {
        std::fprintf(stderr, "bpfco-gen-types: %s: cannot read its BTF: %s (build the BPF C with -g)\n",
                     path.c_str(), std::strerror(errno));
        return 1;
    }
    generator g(b);
    // Two passes, so that records are defined before the globals and maps that name them.
    struct var { std::string name, section; std::uint32_t type; };
    std::vector<var> globals, map_records;
    for (std::uint32_t id = 1; id < btf__type_cnt(b); ++id) {
        const btf_type* t = btf__type_by_id(b, id);
        if (!btf_is_datasec(t)) continue;
        const std::string sec = btf__name_by_offset(b, t->name_off);
        for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
            const btf_type* v = btf__type_by_id(b, btf_var_secinfos(t)[i].type);
            if (!btf_is_var(v)) continue;
            const std::string n = btf__name_by_offset(b, v->name_off);
            if (sec == ".maps") {
                // A BTF-defined map: a struct of pointers, `value` pointing at the value type.
                const btf_type* def = btf__type_by_id(b, g.strip(v->type));
                for (std::uint16_t m = 0; btf_is_struct(def) && m < btf_vlen(def); ++m) {
                    const std::string mn = btf__name_by_offset(b, btf_members(def)[m].name_off);
                    const btf_type* p = btf__type_by_id(b, g.strip(btf_members(def)[m].type));
                    if ((mn == "key" || mn == "value") && btf_is_ptr(p) &&
                        btf_is_struct(btf__type_by_id(b, g.strip(p->type))))
                        g.define(p->type);
                }
            } else if (n.starts_with(map_record_prefix)) {
                map_records.push_back({n.substr(map_record_prefix.size()), sec, v->type});
            } else if (n.starts_with(record_prefix)) {
                const btf_type* p = btf__type_by_id(b, g.strip(v->type));
                if (btf_is_ptr(p)) g.define(p->type);
            } else if (data_section(sec) && btf_var(v)->linkage != BTF_VAR_STATIC) {
                globals.push_back({n, sec, v->type});
            }
        }
    }
    for (const auto& m : map_records) g.map_record(m.name, m.type);
    for (const auto& v : globals) g.global(v.name, v.type, v.section);
    const std::string text = g.text(ns, path.substr(path.find_last_of('/') + 1));
    btf__free(b);
    std::ofstream f(out + ".tmp");
    f << text;
    f.close();
    if (!f || std::rename((out + ".tmp").c_str(), out.c_str()) != 0) {
        std::fprintf(stderr, "bpfco-gen-types: cannot write %s: %s\n", out.c_str(), std::strerror(errno));
        return 1;
    }
    return 0;
}
