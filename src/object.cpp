#include <bpfco/features.hpp>
#include <bpfco/object.hpp>

#include "libbpf_log.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace bpfco {

namespace {
std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

// libbpf names the program it failed on only in its log: "prog 'name': ...".
std::string failed_program(const std::string& log) {
    auto end = log.find("-- BEGIN PROG LOAD LOG --");
    auto p = log.rfind("prog '", end);
    if (p == std::string::npos) return {};
    p += 6;
    auto q = log.find('\'', p);
    return q == std::string::npos ? std::string() : log.substr(p, q - p);
}
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

// The .BTF section, when there is one, through btf_refs_problem().
std::string btf_problem(std::span<const std::byte> elf, const Elf64_Ehdr& eh) {
    auto shdr = [&](std::uint16_t i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, elf.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
        return sh;
    };
    const Elf64_Shdr names = shdr(eh.e_shstrndx);
    for (std::uint16_t i = 0; i < eh.e_shnum; ++i) {
        const Elf64_Shdr sh = shdr(i);
        if (sh.sh_type != SHT_PROGBITS || sh.sh_name >= names.sh_size || names.sh_size - sh.sh_name < 5) continue;
        if (std::memcmp(elf.data() + names.sh_offset + sh.sh_name, ".BTF", 5) != 0) continue;  // with the NUL
        std::unique_ptr<btf, void (*)(btf*)> b(btf__new(elf.data() + sh.sh_offset, static_cast<std::uint32_t>(sh.sh_size)),
                                               btf__free);
        if (!b) return "the .BTF section cannot be parsed";
        return btf_refs_problem(b.get());
    }
    return {};
}

// Our own input validation before libbpf sees the bytes: the ELF header and section table of a
// 64-bit little-endian relocatable object, every section inside the buffer. It reimplements none
// of libbpf's parsing; it only refuses, with a message saying what is wrong, bytes whose tables
// point outside themselves. Returns what is wrong, or empty.
std::string elf_layout_problem(std::span<const std::byte> elf) {
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
    for (std::uint16_t i = 0; i < eh.e_shnum; ++i) {
        const Elf64_Shdr sh = section(i);
        if (sh.sh_name >= names.sh_size) return fmt::format("section {} has a name outside the name table", i);
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
        }
    }
    return btf_problem(elf, eh);
}
}  // namespace

object::object(object&& o) noexcept
    : obj_(std::exchange(o.obj_, nullptr)), name_(std::move(o.name_)),
      loaded_(std::exchange(o.loaded_, false)), elf_(std::move(o.elf_)) {}

object& object::operator=(object&& o) noexcept {
    if (this != &o) {
        if (obj_) bpf_object__close(obj_);
        obj_ = std::exchange(o.obj_, nullptr);
        name_ = std::move(o.name_);
        loaded_ = std::exchange(o.loaded_, false);
        elf_ = std::move(o.elf_);
    }
    return *this;
}

object::~object() {
    if (obj_) bpf_object__close(obj_);
}

result<object> object::open_file(const std::string& path) {
    // Read into memory and take open_memory's path, so that a file gets the same validation
    // before libbpf sees it as bytes do.
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        const int e = errno;
        return failure(e, fmt::format("object file '{}': cannot open: {}", path,
                                      e == ENOENT ? std::string("no such file") : detail::errno_text(e)));
    }
    std::vector<std::byte> bytes;
    std::byte buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int e = errno;
            return failure(e, fmt::format("object file '{}': cannot read: {}", path, detail::errno_text(e)));
        }
        if (n == 0) break;
        bytes.insert(bytes.end(), buf, buf + n);
    }
    // libbpf's own naming: the file name without its directory and ".o".
    std::string name = path.substr(path.find_last_of('/') + 1);
    if (name.ends_with(".o")) name.resize(name.size() - 2);
    auto obj = open_memory(name, bytes);
    if (!obj) obj.error().message = fmt::format("object file '{}': {}", path, obj.error().message);
    return obj;
}

result<object> object::open_memory(std::string_view name, std::span<const std::byte> elf) {
    std::string problem;
    {
        detail::libbpf_capture quiet;  // btf__new's own complaints: the message below says it
        problem = elf_layout_problem(elf);
    }
    if (!problem.empty())
        return failure(EINVAL, fmt::format("object '{}' ({} bytes in memory): not a valid BPF ELF object: {}", name,
                                           elf.size(), problem));
    // libbpf keeps pointing into the buffer it was given, so the object keeps its own copy.
    std::vector<std::byte> copy(elf.begin(), elf.end());
    std::string n(name);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = n.c_str());
    detail::libbpf_capture cap;
    bpf_object* o = bpf_object__open_mem(copy.data(), copy.size(), &opts);
    if (!o) {
        int e = errno ? errno : EINVAL;
        auto tail = cap.tail(3);
        return failure(detail::portable_errno(e),
                       fmt::format("object '{}' ({} bytes in memory): not a valid BPF ELF object: {}{}{}",
                                      name, elf.size(), detail::errno_text(e), tail.empty() ? "" : "\n", tail));
    }
    object obj(o, n);
    obj.elf_ = std::move(copy);
    return obj;
}

result<void> object::load() {
    detail::libbpf_capture cap;
    int r = bpf_object__load(obj_);
    if (r == 0) {
        loaded_ = true;
        return boost::outcome_v2::success();
    }
    int e = r < 0 ? -r : (errno ? errno : EINVAL);
    auto prog = failed_program(cap.text());
    bool verifier = cap.text().find("-- BEGIN PROG LOAD LOG --") != std::string::npos;
    std::string what = prog.empty() ? fmt::format("object '{}': load failed", name_)
                                    : fmt::format("object '{}': program '{}': {}", name_, prog,
                                                  verifier ? "rejected by the verifier" : "load failed");
    auto tail = cap.tail(verifier ? 12 : 4);
    // A kernel without BPF trampolines refuses fentry/fexit programs with EPERM even for root:
    // say that instead of pointing at capabilities.
    std::string hint = privilege_hint(e);
    if (bpf_program* p = prog.empty() ? nullptr : bpf_object__find_program_by_name(obj_, prog.c_str());
        p && bpf_program__type(p) == BPF_PROG_TYPE_TRACING && !features::fentry()) {
        auto at = bpf_program__expected_attach_type(p);
        if (at == BPF_TRACE_FENTRY || at == BPF_TRACE_FEXIT || at == BPF_MODIFY_RETURN)
            hint = " (this kernel cannot load fentry/fexit programs: no BPF trampoline support; "
                   "switch the program off with set_autoload(false) before load, or use a kprobe or "
                   "tracepoint)";
    }
    return failure(detail::portable_errno(e),
                   fmt::format("{}: {}{}{}{}", what, detail::errno_text(e), hint,
                                  tail.empty() ? "" : "\n", tail));
}

result<object> object::load_file(const std::string& path) {
    BPFCO_TRY(auto obj, open_file(path));
    BPFCO_TRY(obj.load());
    return obj;
}

result<object> object::load_memory(std::string_view name, std::span<const std::byte> elf) {
    BPFCO_TRY(auto obj, open_memory(name, elf));
    BPFCO_TRY(obj.load());
    return obj;
}

result<bpfco::program> object::program(std::string_view name) const {
    std::string n(name);
    if (auto* p = bpf_object__find_program_by_name(obj_, n.c_str())) return bpfco::program(p);
    std::vector<std::string> names;
    for (auto& p : programs()) names.emplace_back(p.name());
    return failure(ENOENT, fmt::format("object '{}': no program named '{}' (programs: {})", name_, name,
                                       join(names)));
}

std::vector<bpfco::program> object::programs() const {
    std::vector<bpfco::program> out;
    bpf_program* p = nullptr;
    while ((p = bpf_object__next_program(obj_, p))) out.emplace_back(p);
    return out;
}

std::vector<std::string> object::map_names() const {
    std::vector<std::string> out;
    bpf_map* m = nullptr;
    while ((m = bpf_object__next_map(obj_, m))) out.emplace_back(bpf_map__name(m));
    return out;
}

result<bpfco::map> object::map(std::string_view name) const {
    std::string n(name);
    bpf_map* m = bpf_object__find_map_by_name(obj_, n.c_str());
    if (!m)
        return failure(ENOENT, fmt::format("object '{}': no map named '{}' (maps: {})", name_, name,
                                           join(map_names())));
    if (!loaded_)
        return failure(EAGAIN, fmt::format("object '{}': map '{}': the object is not loaded yet", name_, name));
    int fd = ::fcntl(bpf_map__fd(m), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return failure(errno, fmt::format("object '{}': map '{}': dup: {}", name_, name, std::strerror(errno)));
    return bpfco::map::from_fd(unique_fd(fd));
}

namespace {
result<bpf_map*> find_unloaded(bpf_object* obj, const std::string& oname, bool loaded, std::string_view name) {
    std::string n(name);
    bpf_map* m = bpf_object__find_map_by_name(obj, n.c_str());
    if (!m) return failure(ENOENT, fmt::format("object '{}': no map named '{}'", oname, name));
    if (loaded)
        return failure(EBUSY, fmt::format("object '{}': map '{}': already loaded; set this before load()", oname, name));
    return m;
}
}  // namespace

result<void> object::set_pin_path(std::string_view map_name, const std::string& path) {
    BPFCO_TRY(auto m, find_unloaded(obj_, name_, loaded_, map_name));
    detail::ensure_bpffs();
    if (int r = bpf_map__set_pin_path(m, path.c_str()); r != 0)
        return failure(-r, fmt::format("object '{}': map '{}': pin path '{}': {}", name_, map_name, path, std::strerror(-r)));
    return boost::outcome_v2::success();
}

result<void> object::set_max_entries(std::string_view map_name, std::uint32_t entries) {
    BPFCO_TRY(auto m, find_unloaded(obj_, name_, loaded_, map_name));
    if (int r = bpf_map__set_max_entries(m, entries); r != 0)
        return failure(-r, fmt::format("object '{}': map '{}': max entries {}: {}", name_, map_name, entries, std::strerror(-r)));
    return boost::outcome_v2::success();
}

}  // namespace bpfco
