#include "loader/elf_check.hpp"

#include "internal/libbpf_log.hpp"

#include <bpf/btf.h>
#include <elf.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace bpfco::detail {

namespace {
// Every type id a BTF type refers to names a type that exists. libbpf 1.1 does not check this
// and dereferences the null btf__type_by_id() returns for a dangling id (a SEGV, found by
// tests/fuzz/fuzz_object.cpp). libbpf parses the section (btf__new); we only check the ids.
std::string btf_refs_problem(const btf* b) {
    const std::uint32_t n = btf__type_cnt(b);
    auto bad = [n](std::uint32_t id) { return id >= n; };
    for (std::uint32_t id = 1; id < n; ++id) {
        const btf_type* t = btf__type_by_id(b, id);
        if (!t) return fmt::format("BTF type {} is missing", id);
        bool dangling = false;
        switch (btf_kind(t)) {
        case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
        case BTF_KIND_RESTRICT: case BTF_KIND_FUNC: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
        case BTF_KIND_TYPE_TAG:
            dangling = bad(t->type);
            break;
        case BTF_KIND_ARRAY:
            dangling = bad(btf_array(t)->type) || bad(btf_array(t)->index_type);
            break;
        case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
            const btf_member* m = btf_members(t);
            for (std::uint16_t i = 0; i < btf_vlen(t) && !dangling; ++i) dangling = bad(m[i].type);
            break;
        }
        case BTF_KIND_FUNC_PROTO: {
            dangling = bad(t->type);
            const btf_param* p = btf_params(t);
            for (std::uint16_t i = 0; i < btf_vlen(t) && !dangling; ++i) dangling = bad(p[i].type);
            break;
        }
        case BTF_KIND_DATASEC: {
            const btf_var_secinfo* v = btf_var_secinfos(t);
            for (std::uint16_t i = 0; i < btf_vlen(t) && !dangling; ++i) dangling = bad(v[i].type);
            break;
        }
        default:
            break;
        }
        if (dangling) return fmt::format("BTF type {} refers to a type id that does not exist", id);
    }
    // libbpf 1.1 follows chains of typedefs and modifiers without a bound, so a chain that comes
    // back to itself hangs it (found by fuzz_object). No valid BTF has one: a chain longer than
    // the number of types must be a cycle.
    auto is_mod = [](const btf_type* t) {
        const auto k = btf_kind(t);
        return k == BTF_KIND_TYPEDEF || k == BTF_KIND_VOLATILE || k == BTF_KIND_CONST ||
               k == BTF_KIND_RESTRICT || k == BTF_KIND_TYPE_TAG;
    };
    for (std::uint32_t id = 1; id < n; ++id) {
        const btf_type* t = btf__type_by_id(b, id);
        for (std::uint32_t steps = 0; is_mod(t); ++steps) {
            if (steps == n) return fmt::format("BTF type {} is a typedef/modifier chain that loops", id);
            t = btf__type_by_id(b, t->type);
        }
    }
    return {};
}

}  // namespace

// The ELF header and section table of a 64-bit little-endian relocatable object, every section
// inside the buffer, then the .BTF section. It reimplements none of libbpf's parsing; it only
// refuses, with a message saying what is wrong, bytes whose tables point outside themselves.
std::string elf_problem(std::span<const std::byte> elf, std::string_view name) {
    Elf64_Ehdr eh;
    if (elf.size() < sizeof eh) return fmt::format("{} bytes: shorter than an ELF header", elf.size());
    std::memcpy(&eh, elf.data(), sizeof eh);
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return "no ELF magic";
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return "not a 64-bit little-endian ELF file";
    if (eh.e_type != ET_REL) return "not a relocatable object (ET_REL)";
    if (eh.e_shentsize != sizeof(Elf64_Shdr)) return "unexpected section header size";
    const std::uint64_t size = elf.size();
    // e_shnum 0 with e_shoff set means "the count is in section 0"; BPF objects never need that.
    if (eh.e_shnum == 0 || eh.e_shoff > size || (size - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum)
        return "the section header table lies outside the file";
    if (eh.e_shstrndx == SHN_UNDEF || eh.e_shstrndx >= eh.e_shnum) return "no section name table";
    for (std::uint16_t i = 0; i < eh.e_shnum; ++i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, elf.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (sh.sh_type == SHT_NOBITS || sh.sh_type == SHT_NULL) continue;
        if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
            return fmt::format("section {} lies outside the file", i);
        if (sh.sh_link >= eh.e_shnum) return fmt::format("section {} links to a section that does not exist", i);
    }
    auto section = [&](std::uint32_t i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, elf.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
        return sh;
    };
    // A string table ends with a NUL, so every offset inside it names a terminated string.
    auto string_table = [&](const Elf64_Shdr& t) {
        return t.sh_type == SHT_STRTAB && t.sh_size != 0 && elf[t.sh_offset + t.sh_size - 1] == std::byte{0};
    };
    const Elf64_Shdr names = section(eh.e_shstrndx);
    if (!string_table(names)) return "the section name table is not a string table";
    // libbpf needs the object's BTF only for BTF-defined maps (.maps), struct_ops and externs;
    // otherwise it ignores a .BTF it cannot parse, and so do we.
    bool needs_btf = false;
    std::span<const std::byte> btf_bytes;
    for (std::uint16_t i = 0; i < eh.e_shnum; ++i) {
        const Elf64_Shdr sh = section(i);
        if (sh.sh_name >= names.sh_size) return fmt::format("section {} has a name outside the name table", i);
        const std::string_view sname(reinterpret_cast<const char*>(elf.data() + names.sh_offset + sh.sh_name));
        if (sname == ".maps" || sname.starts_with(".struct_ops")) needs_btf = true;
        if (sname == ".BTF" && sh.sh_type == SHT_PROGBITS) btf_bytes = elf.subspan(sh.sh_offset, sh.sh_size);
        if (sh.sh_type != SHT_SYMTAB) continue;
        // libbpf 1.1 compares symbol names without checking that they exist (a null strcmp,
        // found by tests/fuzz/fuzz_object.cpp): every symbol's name must be in its string table.
        const Elf64_Shdr strings = section(sh.sh_link);
        if (sh.sh_entsize != sizeof(Elf64_Sym) || !string_table(strings))
            return fmt::format("symbol table (section {}) is malformed", i);
        for (std::uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            std::memcpy(&sym, elf.data() + sh.sh_offset + off, sizeof sym);
            if (sym.st_name >= strings.sh_size)
                return fmt::format("symbol {} has a name outside its string table", off / sizeof sym);
            const auto bind = ELF64_ST_BIND(sym.st_info);
            if (sym.st_shndx == SHN_UNDEF && sym.st_name != 0 && (bind == STB_GLOBAL || bind == STB_WEAK))
                needs_btf = true;  // an extern (.kconfig, .ksyms)
        }
    }
    if (btf_bytes.empty()) return {};
    std::unique_ptr<btf, void (*)(btf*)> b(nullptr, btf__free);
    {
        libbpf_capture quiet;  // btf__new's own complaints: our message says it
        b.reset(btf__new(btf_bytes.data(), static_cast<std::uint32_t>(btf_bytes.size())));
    }
    if (!b && needs_btf) return "the .BTF section cannot be parsed, and the object's maps or externs need it";
    if (!b) {
        debug_log(fmt::format("object '{}': ignoring its .BTF section, which cannot be parsed and which "
                              "nothing in the object needs (libbpf ignores it too)",
                              name));
        return {};
    }
    return btf_refs_problem(b.get());
}

}  // namespace bpfco::detail
