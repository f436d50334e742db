#include <bpfco/analysis/symbolizer.hpp>

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

namespace bpfco {

std::string frame::name() const {
    if (!known()) return fmt::format("0x{:x}", address);
    return offset ? fmt::format("{}+0x{:x}", symbol, offset) : symbol;
}

std::string to_string(const frame& f) {
    return f.module.empty() ? f.name() : fmt::format("{} [{}]", f.name(), f.module);
}

std::string demangle(std::string_view name) {
    if (!name.starts_with("_Z")) return std::string(name);
    const std::string mangled(name);
    int status = 0;
    char* out = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
    std::string result = status == 0 && out ? std::string(out) : mangled;
    std::free(out);
    return result;
}

namespace {

// Symbols sorted by address, names in one arena: a libstdc++ has ~10k of them, the kernel ~200k,
// and one allocation per name would dominate the cold cost.
struct symbol_entry {
    std::uint64_t address;
    std::uint64_t size;  // 0: unknown (kallsyms), the symbol then runs to the next one
    std::uint32_t name;  // offset into the arena, NUL-terminated
    std::uint32_t module;
};

struct symbol_table {
    std::vector<symbol_entry> entries;
    std::string arena;

    std::uint32_t add_name(std::string_view n) {
        const auto at = static_cast<std::uint32_t>(arena.size());
        arena.append(n);
        arena.push_back('\0');
        return at;
    }
    void sort() {
        // Aliases at one address (a .symtab and a .dynsym copy; glibc's getpid and __getpid):
        // keep the public name, the one with the fewest leading underscores.
        auto underscores = [this](const symbol_entry& e) {
            std::string_view n = name(e.name);
            return n.find_first_not_of('_');
        };
        std::stable_sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
            if (a.address != b.address) return a.address < b.address;
            return underscores(a) < underscores(b);
        });
        entries.erase(std::unique(entries.begin(), entries.end(),
                                  [](const auto& a, const auto& b) { return a.address == b.address; }),
                      entries.end());
    }
    const symbol_entry* find(std::uint64_t address) const {
        auto it = std::upper_bound(entries.begin(), entries.end(), address,
                                   [](std::uint64_t a, const auto& e) { return a < e.address; });
        if (it == entries.begin()) return nullptr;
        --it;
        if (it->size != 0 && address - it->address >= it->size) return nullptr;
        return &*it;
    }
    const char* name(std::uint32_t at) const { return arena.c_str() + at; }
};

}  // namespace

class elf_symbols {
public:
    struct segment {
        std::uint64_t offset, file_size, vaddr;
    };

    /// Empty tables for a file that cannot be read or is not an ELF64 file: its addresses then
    /// print as hex, the same as an address with no symbol.
    static std::shared_ptr<const elf_symbols> read(const std::string& path) {
        auto out = std::make_shared<elf_symbols>();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return out;
        struct stat st{};
        void* p = MAP_FAILED;
        if (::fstat(fd, &st) == 0 && st.st_size > 0)
            p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        ::close(fd);
        if (p == MAP_FAILED) return out;
        out->parse({static_cast<const std::byte*>(p), static_cast<std::size_t>(st.st_size)});
        ::munmap(p, static_cast<std::size_t>(st.st_size));
        return out;
    }

    /// A file offset of mapped code -> the address the symbol tables use (the program header
    /// of the loadable segment holding it says where that offset is linked).
    std::uint64_t vaddr_of(std::uint64_t file_offset) const {
        for (const auto& s : segments_)
            if (file_offset >= s.offset && file_offset - s.offset < s.file_size)
                return file_offset - s.offset + s.vaddr;
        return file_offset;
    }

    const symbol_table& table() const { return table_; }

private:
    // Reads a T at `at` when the whole of it lies inside the file; malformed files give nothing.
    template <class T>
    static std::optional<T> at(std::span<const std::byte> f, std::uint64_t off) {
        if (off > f.size() || f.size() - off < sizeof(T)) return std::nullopt;
        T v;
        std::memcpy(&v, f.data() + off, sizeof v);
        return v;
    }

    void parse(std::span<const std::byte> f) {
        auto eh = at<Elf64_Ehdr>(f, 0);
        if (!eh || std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
            eh->e_ident[EI_DATA] != ELFDATA2LSB)
            return;
        for (std::uint64_t i = 0; i < eh->e_phnum; ++i) {
            auto ph = at<Elf64_Phdr>(f, eh->e_phoff + i * sizeof(Elf64_Phdr));
            if (!ph) break;
            if (ph->p_type == PT_LOAD) segments_.push_back({ph->p_offset, ph->p_filesz, ph->p_vaddr});
        }
        std::vector<Elf64_Shdr> sections;
        for (std::uint64_t i = 0; i < eh->e_shnum; ++i) {
            auto sh = at<Elf64_Shdr>(f, eh->e_shoff + i * sizeof(Elf64_Shdr));
            if (!sh) break;
            sections.push_back(*sh);
        }
        for (const auto& sh : sections) {
            if ((sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || sh.sh_link >= sections.size()) continue;
            const auto& strtab = sections[sh.sh_link];
            if (strtab.sh_offset > f.size() || f.size() - strtab.sh_offset < strtab.sh_size) continue;
            const auto* strings = reinterpret_cast<const char*>(f.data() + strtab.sh_offset);
            for (std::uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
                auto sym = at<Elf64_Sym>(f, sh.sh_offset + off);
                if (!sym) break;
                const auto type = ELF64_ST_TYPE(sym->st_info);
                if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym->st_shndx == SHN_UNDEF ||
                    sym->st_value == 0 || sym->st_name >= strtab.sh_size)
                    continue;
                const std::string_view name(strings + sym->st_name,
                                            ::strnlen(strings + sym->st_name, strtab.sh_size - sym->st_name));
                table_.entries.push_back({sym->st_value, sym->st_size, table_.add_name(name), 0});
            }
        }
        table_.sort();
    }

    std::vector<segment> segments_;
    symbol_table table_;
};

struct symbolizer::kernel_symbols {
    symbol_table table;
    std::string problem;

    kernel_symbols() {
        std::ifstream in("/proc/kallsyms");
        if (!in) {
            problem = fmt::format("kernel symbols unavailable: cannot read /proc/kallsyms: {}", std::strerror(errno));
            return;
        }
        table.add_name("kernel");  // module offset 0
        std::map<std::string, std::uint32_t, std::less<>> modules;
        std::size_t hidden = 0;
        std::string line;
        while (std::getline(in, line)) {
            // "ffffffff81000000 T _stext" or "ffffffffc0a01000 t fn\t[module]"
            char* end = nullptr;
            const std::uint64_t address = std::strtoull(line.c_str(), &end, 16);
            const std::string_view rest(end, line.c_str() + line.size());
            if (rest.size() < 4 || rest[0] != ' ' || rest[2] != ' ') continue;
            const char type = rest[1];
            if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
            if (address == 0) {
                ++hidden;
                continue;
            }
            std::string_view name = rest.substr(3);
            std::uint32_t module = 0;
            if (auto tab = name.find('\t'); tab != std::string_view::npos) {
                auto mod = name.substr(tab + 1);
                name = name.substr(0, tab);
                if (mod.size() > 2 && mod.front() == '[' && mod.back() == ']') mod = mod.substr(1, mod.size() - 2);
                auto it = modules.find(mod);
                if (it == modules.end()) it = modules.emplace(std::string(mod), table.add_name(mod)).first;
                module = it->second;
            }
            table.entries.push_back({address, 0, table.add_name(name), module});
        }
        table.sort();
        if (table.entries.empty())
            problem = hidden ? "kernel symbols unavailable: /proc/kallsyms shows zero addresses "
                               "(kernel.kptr_restrict hides them: run as root, or set it to 0)"
                             : "kernel symbols unavailable: /proc/kallsyms lists no text symbols";
    }
};

struct symbolizer::process {
    struct mapping {
        std::uint64_t start, end, offset;
        std::string path;
        std::shared_ptr<const elf_symbols> elf;
    };
    std::vector<mapping> mappings;  // executable ones, sorted by start
};

symbolizer::symbolizer() = default;
symbolizer::~symbolizer() = default;
symbolizer::symbolizer(symbolizer&&) noexcept = default;
symbolizer& symbolizer::operator=(symbolizer&&) noexcept = default;

const std::string& symbolizer::kernel_problem() {
    if (!kernel_) kernel_ = std::make_unique<kernel_symbols>();
    return kernel_->problem;
}

frame symbolizer::kernel(std::uint64_t address) {
    if (!kernel_) kernel_ = std::make_unique<kernel_symbols>();
    const auto& t = kernel_->table;
    frame f{address, {}, 0, "kernel"};
    if (const auto* e = t.find(address)) {
        f.symbol = t.name(e->name);
        f.offset = address - e->address;
        f.module = t.name(e->module);
    }
    return f;
}

const symbolizer::process& symbolizer::process_of(pid_t pid) {
    auto& slot = processes_[pid];
    if (slot) return *slot;
    slot = std::make_unique<process>();
    std::ifstream in(fmt::format("/proc/{}/maps", pid));
    std::string line;
    while (std::getline(in, line)) {
        // "start-end perms offset dev inode   path"
        std::istringstream ls(line);
        std::string range, perms, offset, dev, inode, path;
        ls >> range >> perms >> offset >> dev >> inode;
        std::getline(ls >> std::ws, path);
        if (perms.size() < 3 || perms[2] != 'x') continue;
        const auto dash = range.find('-');
        if (dash == std::string::npos) continue;
        process::mapping m{std::strtoull(range.c_str(), nullptr, 16),
                           std::strtoull(range.c_str() + dash + 1, nullptr, 16),
                           std::strtoull(offset.c_str(), nullptr, 16), path, nullptr};
        if (!path.empty() && path.front() == '/') {
            // map_files names exactly the mapped file, even when it was deleted or lives in another
            // mount namespace; it needs privilege, so fall back to the process's root, then the path.
            struct stat st{};
            std::string file = fmt::format("/proc/{}/map_files/{}", pid, range);
            if (::stat(file.c_str(), &st) != 0) {
                file = fmt::format("/proc/{}/root{}", pid, path);
                if (::stat(file.c_str(), &st) != 0) file = path;
            }
            if (::stat(file.c_str(), &st) == 0) {
                const auto key = fmt::format("{}:{}:{}.{}:{}", st.st_dev, st.st_ino, st.st_mtim.tv_sec,
                                             st.st_mtim.tv_nsec, st.st_size);
                auto& cached = files_[key];
                if (!cached) cached = elf_symbols::read(file);
                m.elf = cached;
            }
        }
        slot->mappings.push_back(std::move(m));
    }
    std::sort(slot->mappings.begin(), slot->mappings.end(),
              [](const auto& a, const auto& b) { return a.start < b.start; });
    return *slot;
}

frame symbolizer::user(pid_t pid, std::uint64_t address) {
    frame f{address, {}, 0, {}};
    const auto& maps = process_of(pid).mappings;
    auto it = std::upper_bound(maps.begin(), maps.end(), address,
                               [](std::uint64_t a, const auto& m) { return a < m.start; });
    if (it == maps.begin()) return f;
    --it;
    if (address >= it->end) return f;
    f.module = it->path;
    if (!it->elf) return f;
    const std::uint64_t vaddr = it->elf->vaddr_of(address - it->start + it->offset);
    const auto& t = it->elf->table();
    if (const auto* e = t.find(vaddr)) {
        f.symbol = demangle(t.name(e->name));
        f.offset = vaddr - e->address;
    }
    return f;
}

void symbolizer::forget(pid_t pid) { processes_.erase(pid); }

std::vector<frame> symbolizer::kernel_stack(std::span<const std::uint64_t> addresses) {
    std::vector<frame> out;
    out.reserve(addresses.size());
    for (auto a : addresses) out.push_back(kernel(a));
    return out;
}

std::vector<frame> symbolizer::user_stack(pid_t pid, std::span<const std::uint64_t> addresses) {
    std::vector<frame> out;
    out.reserve(addresses.size());
    for (auto a : addresses) out.push_back(user(pid, a));
    return out;
}

std::string folded_line(std::string_view comm, std::span<const frame> user_leaf_first,
                        std::span<const frame> kernel_leaf_first, std::uint64_t count) {
    std::string out;
    auto append = [&out](std::string_view name) {
        for (char c : name) out.push_back(c == ';' || c == '\n' ? ':' : c);
    };
    append(comm);
    // Offsets are left out so that samples at different instructions of a function merge.
    auto frames = [&](std::span<const frame> leaf_first) {
        for (auto it = leaf_first.rbegin(); it != leaf_first.rend(); ++it) {
            out.push_back(';');
            append(it->known() ? it->symbol : it->name());
        }
    };
    frames(user_leaf_first);
    frames(kernel_leaf_first);
    fmt::format_to(std::back_inserter(out), " {}", count);
    return out;
}

}  // namespace bpfco
