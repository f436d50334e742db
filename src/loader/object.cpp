#include <bpfco/loader/features.hpp>
#include <bpfco/loader/object.hpp>

#include "loader/elf_check.hpp"
#include "internal/hints.hpp"
#include "internal/libbpf_log.hpp"
#include "internal/mounts.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bpfco {

namespace {
// Bytes from the object (names from its ELF, libbpf's log about them) as printable text: control
// bytes, DEL and bytes that are not UTF-8 become \xNN, so a message cannot carry them raw.
std::string escaped(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size();) {
        const auto c = static_cast<unsigned char>(in[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        bool ok = len > 0 && i + len <= in.size();
        for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
        if (ok && len == 1 && ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)) ok = false;
        if (!ok) {
            out += fmt::format("\\x{:02x}", c);
            ++i;
            continue;
        }
        out.append(in.substr(i, len));
        i += len;
    }
    return out;
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (auto& n : names) out += (out.empty() ? "" : ", ") + escaped(n);
    return out.empty() ? "none" : out;
}

// libbpf names what it failed on only in its log: "prog 'name': ...", "map 'name': ...".
std::string failed_in_log(const std::string& log, std::string_view kind) {
    const std::string marker = std::string(kind) + " '";
    auto end = log.find("-- BEGIN PROG LOAD LOG --");
    auto p = log.rfind(marker, end);
    if (p == std::string::npos) return {};
    p += marker.size();
    auto q = log.find('\'', p);
    return q == std::string::npos ? std::string() : log.substr(p, q - p);
}

}  // namespace

object::object(object&& o) noexcept
    : obj_(std::exchange(o.obj_, nullptr)), name_(std::move(o.name_)), label_(std::move(o.label_)),
      loaded_(std::exchange(o.loaded_, false)), elf_(std::move(o.elf_)) {}

object& object::operator=(object&& o) noexcept {
    if (this != &o) {
        if (obj_) bpf_object__close(obj_);
        obj_ = std::exchange(o.obj_, nullptr);
        name_ = std::move(o.name_);
        label_ = std::move(o.label_);
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
        return failure(e, fmt::format("object file '{}': cannot open: {}", path, detail::errno_text(e)));
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
    // libbpf's naming of a file object: its base name cut at the first '.' ("runqlat.bpf.o" is
    // "runqlat"), which prefixes the kernel names of its internal maps ("runqlat.rodata").
    std::string name = path.substr(path.find_last_of('/') + 1);
    name.resize(std::min(name.find('.'), name.size()));
    BPFCO_TRY(auto obj, open(name, bytes, fmt::format("object file '{}'", path)));
    obj.label_ = fmt::format("object '{}' (file '{}')", obj.name_, path);
    return obj;
}

result<object> object::open_memory(std::string_view name, std::span<const std::byte> elf) {
    return open(name, elf, fmt::format("object '{}' ({} bytes in memory)", name, elf.size()));
}

result<object> object::open(std::string_view name, std::span<const std::byte> elf, const std::string& what) {
    if (auto problem = detail::elf_problem(elf, name); !problem.empty())
        return failure(EINVAL, fmt::format("{}: not a valid BPF ELF object: {}", what, problem));
    // libbpf keeps pointing into the buffer it was given, so the object keeps its own copy.
    std::vector<std::byte> copy(elf.begin(), elf.end());
    std::string n(name);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = n.c_str());
    detail::libbpf_capture cap;
    bpf_object* o = bpf_object__open_mem(copy.data(), copy.size(), &opts);
    if (!o) {
        int e = errno ? errno : EINVAL;
        auto tail = cap.tail(3);
        return failure(detail::portable_errno(e), fmt::format("{}: not a valid BPF ELF object: {}{}{}", what,
                                                              detail::errno_text(e), tail.empty() ? "" : "\n", tail));
    }
    object obj(o, bpf_object__name(o));
    obj.elf_ = std::move(copy);
    obj.label_ = fmt::format("object '{}'", escaped(obj.name_));
    return obj;
}

namespace {
// The function a tracing or LSM program targets: libbpf names it in its log when it is missing
// ("failed to find kernel BTF type ID of 'name'"), else the section names it ("fentry/name").
std::string attach_target(bpf_program* p, const std::string& log) {
    constexpr std::string_view marker = "find kernel BTF type ID of '";
    if (auto at = log.rfind(marker); at != std::string::npos) {
        at += marker.size();
        if (auto end = log.find('\'', at); end != std::string::npos) return log.substr(at, end - at);
    }
    std::string_view sec = bpf_program__section_name(p);
    auto slash = sec.find('/');
    return slash == std::string_view::npos ? std::string() : std::string(sec.substr(slash + 1));
}

// Why the kernel refused program `p` with errno `e`, from facts: the missing attach target, the
// missing kernel feature, else the privilege hint (which checks capabilities first).
std::string load_hint(bpf_program* p, int e, const std::string& log) {
    const auto type = p ? bpf_program__type(p) : BPF_PROG_TYPE_UNSPEC;
    const bool targeted = type == BPF_PROG_TYPE_TRACING || type == BPF_PROG_TYPE_LSM || type == BPF_PROG_TYPE_EXT;
    if (targeted && e == ESRCH) {
        const auto target = attach_target(p, log);
        return fmt::format(" (the target function '{}' is not in this kernel's BTF: this kernel does not have it "
                           "or inlined it; switch the program off with set_autoload(false) before load)",
                           target);
    }
    if (p)
        if (auto missing = detail::missing_feature_hint(p); !missing.empty()) return " (" + missing + ")";
    return privilege_hint(e);
}
}  // namespace

namespace {
// libbpf refuses a pinned map that does not fit the object's definition with "parameter mismatch"
// and nothing more: which pin, and what differs, comes from comparing the two here.
std::string pin_misfit(bpf_object* obj) {
    bpf_map* m = nullptr;
    while ((m = bpf_object__next_map(obj, m))) {
        const char* path = bpf_map__pin_path(m);
        if (!path) continue;
        unique_fd fd(bpf_obj_get(path));
        if (!fd) continue;
        bpf_map_info info{};
        std::uint32_t len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) continue;
        auto type = [](std::uint32_t t) { return fmt::format("{}", static_cast<map_type>(t)); };
        const struct {
            std::string_view field;
            std::string pinned, object;
        } fields[] = {{"type", type(info.type), type(bpf_map__type(m))},
                      {"key size", fmt::format("{}", info.key_size), fmt::format("{}", bpf_map__key_size(m))},
                      {"value size", fmt::format("{}", info.value_size), fmt::format("{}", bpf_map__value_size(m))},
                      {"max entries", fmt::format("{}", info.max_entries), fmt::format("{}", bpf_map__max_entries(m))},
                      {"flags", fmt::format("{:#x}", info.map_flags), fmt::format("{:#x}", bpf_map__map_flags(m))}};
        std::string differs, pinned, ours;
        for (const auto& f : fields) {
            if (differs.empty() && f.pinned != f.object)
                differs = fmt::format("{} differs (pinned: {}, object: {})", f.field, f.pinned, f.object);
            pinned += fmt::format("{}{} {}", pinned.empty() ? "" : ", ", f.field, f.pinned);
            ours += fmt::format("{}{} {}", ours.empty() ? "" : ", ", f.field, f.object);
        }
        if (!differs.empty())
            return fmt::format("map '{}': the map pinned at '{}' does not fit: {}\n  pinned: {}\n  object: {}",
                               escaped(bpf_map__name(m)), path, differs, pinned, ours);
    }
    return {};
}
}  // namespace

result<void> object::load() {
    BPFCO_TRY(check("load"));
    detail::libbpf_capture cap;
    int r = bpf_object__load(obj_);
    if (r == 0) {
        loaded_ = true;
        return boost::outcome_v2::success();
    }
    int e = r < 0 ? -r : (errno ? errno : EINVAL);
    if (auto misfit = pin_misfit(obj_); !misfit.empty())
        return failure(detail::portable_errno(e), fmt::format("{}: {}", label_, misfit));
    auto prog = failed_in_log(cap.text(), "prog");
    // A map that failed to create (a size left unset, a type this kernel lacks) heads the message.
    auto map = prog.empty() ? failed_in_log(cap.text(), "map") : std::string();
    bool verifier = cap.text().find("-- BEGIN PROG LOAD LOG --") != std::string::npos;
    std::string what = !prog.empty()
                           ? fmt::format("{}: program '{}': {}", label_, escaped(prog),
                                         verifier ? "rejected by the verifier" : "load failed")
                       : !map.empty() ? fmt::format("{}: map '{}': cannot create it", label_, escaped(map))
                                      : fmt::format("{}: load failed", label_);
    auto tail = cap.tail(verifier ? 12 : 4);
    bpf_program* p = prog.empty() ? nullptr : bpf_object__find_program_by_name(obj_, prog.c_str());
    return failure(detail::portable_errno(e),
                   fmt::format("{}: {}{}{}{}", what, detail::errno_text(e), load_hint(p, e, cap.text()),
                               tail.empty() ? "" : "\n", escaped(tail)));
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

result<void> object::check(std::string_view what) const {
    if (obj_) return boost::outcome_v2::success();
    return failure(EBADF, fmt::format("object: {}: {}: the object is empty (default-constructed or moved-from)",
                                      what, detail::errno_text(EBADF)));
}

result<bpfco::program> object::program(std::string_view name) const {
    BPFCO_TRY(check(fmt::format("program '{}'", name)));
    std::string n(name);
    if (auto* p = bpf_object__find_program_by_name(obj_, n.c_str())) return bpfco::program(p);
    std::vector<std::string> names;
    for (auto& p : programs()) names.emplace_back(p.name());
    return failure(ENOENT, fmt::format("{}: program '{}': {} (programs: {})", label_, name,
                                       detail::errno_text(ENOENT), join(names)));
}

std::vector<bpfco::program> object::programs() const {
    std::vector<bpfco::program> out;
    bpf_program* p = nullptr;
    while (obj_ && (p = bpf_object__next_program(obj_, p))) out.push_back(bpfco::program(p));
    return out;
}

std::vector<std::string> object::map_names() const {
    std::vector<std::string> out;
    bpf_map* m = nullptr;
    while (obj_ && (m = bpf_object__next_map(obj_, m))) out.emplace_back(bpf_map__name(m));
    return out;
}

result<bpf_map*> object::find_map(std::string_view name) const {
    BPFCO_TRY(check(fmt::format("map '{}'", name)));
    std::string n(name);
    bpf_map* m = bpf_object__find_map_by_name(obj_, n.c_str());
    // "<object>.rodata" for an object whose kernel map name libbpf cut short ("syscall_count.rodata"
    // is "syscall_.rodata" in the kernel): the section name after the object's.
    if (auto dot = n.find('.'); !m && dot != std::string::npos && dot > 0 && n.starts_with(name_))
        m = bpf_object__find_map_by_name(obj_, n.substr(dot).c_str());
    if (!m)
        return failure(ENOENT, fmt::format("{}: map '{}': {} (maps: {})", label_, name,
                                           detail::errno_text(ENOENT), join(map_names())));
    return m;
}

result<bpfco::map> object::map(std::string_view name) const {
    BPFCO_TRY(auto m, find_map(name));
    if (!loaded_)
        return failure(EAGAIN, fmt::format("{}: map '{}': {} (the object is not loaded yet)", label_, name,
                                           detail::errno_text(EAGAIN)));
    int fd = ::fcntl(bpf_map__fd(m), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        const int e = errno;
        return failure(e, fmt::format("{}: map '{}': dup: {}", label_, name, detail::errno_text(e)));
    }
    BPFCO_TRY(auto handle, bpfco::map::from_fd(unique_fd(fd)));
    const auto type = handle.info().type;
    if (const btf* b = bpf_object__btf(obj_); b && (type == map_type::ringbuf || type == map_type::perf_event_array)) {
        BPFCO_TRY(handle.records_, detail::record_declaration::of(b, label_, name));
    }
    return handle;
}

result<void> object::set_pin_path(std::string_view map_name, const std::string& path) {
    BPFCO_TRY(auto m, find_map(map_name));
    if (loaded_)
        return failure(EBUSY, fmt::format("{}: map '{}': set pin path: {} (already loaded; set this "
                                          "before load())",
                                          label_, map_name, detail::errno_text(EBUSY)));
    detail::ensure_bpffs();
    if (int r = bpf_map__set_pin_path(m, path.c_str()); r != 0)
        return failure(-r, fmt::format("{}: map '{}': pin path '{}': {}", label_, map_name, path,
                                       detail::errno_text(-r)));
    return boost::outcome_v2::success();
}

result<void> object::set_max_entries(std::string_view map_name, std::uint32_t entries) {
    BPFCO_TRY(auto m, find_map(map_name));
    if (loaded_)
        return failure(EBUSY, fmt::format("{}: map '{}': set max entries: {} (already loaded; set "
                                          "this before load())",
                                          label_, map_name, detail::errno_text(EBUSY)));
    if (int r = bpf_map__set_max_entries(m, entries); r != 0)
        return failure(-r, fmt::format("{}: map '{}': max entries {}: {}", label_, map_name, entries,
                                       detail::errno_text(-r)));
    return boost::outcome_v2::success();
}

namespace {
bool in_kallsyms(std::string_view function) {
    std::ifstream syms("/proc/kallsyms");
    for (std::string line; std::getline(syms, line);) {
        // "address type name [module]"
        auto name = line.find(' ', line.find(' ') + 1);
        if (name == std::string::npos) continue;
        std::string_view n = std::string_view(line).substr(name + 1);
        if (n.substr(0, n.find_first_of(" \t")) == function) return true;
    }
    return false;
}

// Whether this kernel can load and attach `p` and why (or why not), from the features probed and
// the target named by its section.
std::pair<bool, std::string> can_run(bpf_program* p) {
    if (auto missing = detail::missing_feature_hint(p); !missing.empty()) return {false, missing};
    const std::string_view sec = bpf_program__section_name(p);
    const auto slash = sec.find('/');
    const std::string target = slash == std::string_view::npos ? std::string() : std::string(sec.substr(slash + 1));
    switch (bpf_program__type(p)) {
    case BPF_PROG_TYPE_TRACING:
    case BPF_PROG_TYPE_LSM: {
        const std::string fn = bpf_program__type(p) == BPF_PROG_TYPE_LSM ? "bpf_lsm_" + target : target;
        if (target.empty()) return {true, "its target is set at load"};
        if (!features::kernel_function(fn))
            return {false, fmt::format("the target function '{}' is not in this kernel's BTF", fn)};
        return {true, fmt::format("this kernel has trampolines and '{}' is in its BTF", fn)};
    }
    case BPF_PROG_TYPE_KPROBE:
        if (sec.starts_with("kprobe/") || sec.starts_with("kretprobe/")) {
            const std::string fn = target.substr(0, target.find('+'));
            if (!in_kallsyms(fn)) return {false, fmt::format("the function '{}' is not in /proc/kallsyms", fn)};
            return {true, fmt::format("this kernel has kprobes and '{}' is in /proc/kallsyms", fn)};
        }
        break;
    case BPF_PROG_TYPE_TRACEPOINT:
        if (auto cat = target.find('/'); cat != std::string::npos) {
            if (!features::tracepoint(target.substr(0, cat), target.substr(cat + 1)))
                return {false, fmt::format("this kernel has no tracepoint '{}'", target)};
            return {true, fmt::format("the tracepoint '{}' exists", target)};
        }
        break;
    default:
        break;
    }
    detail::libbpf_capture quiet;
    if (libbpf_probe_bpf_prog_type(bpf_program__type(p), nullptr) != 1)
        return {false, "this kernel cannot load programs of its type"};
    return {true, "this kernel loads programs of its type"};
}
}  // namespace

result<std::vector<alternative_choice>> object::choose_alternatives(
    const std::vector<std::vector<std::string>>& groups) {
    BPFCO_TRY(check("choose alternatives"));
    if (loaded_)
        return failure(EBUSY, fmt::format("{}: choose alternatives: {} (already loaded; choose "
                                          "before load())",
                                          label_, detail::errno_text(EBUSY)));
    // Every name first, so that a typo changes nothing.
    for (const auto& group : groups)
        for (const auto& name : group) {
            BPFCO_TRY(program(name));
        }
    std::vector<alternative_choice> out;
    for (const auto& group : groups) {
        alternative_choice choice;
        for (const auto& name : group) {
            auto p = program(name).value();
            if (!choice.kept.empty()) {
                p.set_autoload(false).value();
                continue;
            }
            auto [ok, why] = can_run(p.native_handle());
            if (ok) {
                p.set_autoload(true).value();
                choice.kept = name;
                choice.reason = std::move(why);
            } else {
                p.set_autoload(false).value();
                choice.skipped.push_back(name + ": " + why);
            }
        }
        if (choice.kept.empty())
            return failure(EOPNOTSUPP, fmt::format("{}: alternatives {}: {} (none can run here: {})", label_,
                                                   join(group), detail::errno_text(EOPNOTSUPP),
                                                   fmt::join(choice.skipped, "; ")));
        detail::debug_log(fmt::format("{}: kept program '{}': {}", label_, choice.kept, choice.reason));
        out.push_back(std::move(choice));
    }
    return out;
}

}  // namespace bpfco
