// Addresses to names: kernel addresses through /proc/kallsyms, user addresses through
// /proc/PID/maps and the ELF symbol tables (.symtab and .dynsym) of the mapped files.
// Lookups never fail: an address with no symbol comes back as a frame that prints as 0x....
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace bpfco {

/// One symbolized address. `symbol` is empty when no symbol covers the address.
struct frame {
    std::uint64_t address = 0;  ///< the address symbolized
    std::string symbol;       ///< demangled
    std::uint64_t offset = 0; ///< address - start of symbol
    std::string module;       ///< "kernel", a kernel module name, or the mapped file's path

    /// Whether a symbol covers the address.
    bool known() const noexcept { return !symbol.empty(); }
    /// "symbol+0x1a", or "0x7f12..." when unknown.
    std::string name() const;
};

/// "symbol+0x1a [module]", or "0x7f12... [module]" (module left out when unknown).
std::string to_string(const frame& f);

/// C++ symbol names demangled (abi::__cxa_demangle); other names as they are.
std::string demangle(std::string_view name);

/// The symbols of one ELF file, sorted by address; shared between processes mapping the file.
class elf_symbols;

/// Turns kernel and user addresses into frames, caching what it read (kallsyms, each process's
/// mappings, each file's symbols). Lookups never fail. Not synchronised: one thread uses a
/// symbolizer at a time (give each thread its own).
class symbolizer {
public:
    /// Reads nothing yet: everything is read on first use.
    symbolizer();
    ~symbolizer();
    /// Takes other's caches.
    symbolizer(symbolizer&& other) noexcept;
    /// Takes other's caches, dropping this one's.
    symbolizer& operator=(symbolizer&& other) noexcept;

    /// Kernel text address -> frame. /proc/kallsyms is read on first use.
    frame kernel(std::uint64_t address);
    /// Why kernel frames have no names, or empty when they do (kernel.kptr_restrict hides the
    /// addresses from unprivileged readers; /proc/kallsyms unreadable).
    const std::string& kernel_problem();

    /// User address in process pid -> frame. The process's mappings are read on first use and
    /// kept (see forget); each mapped file's symbols are read once and shared, keyed by
    /// (device, inode, mtime, size) so a rebuilt binary at the same path is read again.
    frame user(pid_t pid, std::uint64_t address);
    /// Drops what is cached about pid's mappings (after it exited, or dlopen'ed more code).
    void forget(pid_t pid);

    /// kernel() of each address, in order (as stack_trace_map::read returns them, leaf first).
    std::vector<frame> kernel_stack(std::span<const std::uint64_t> addresses);
    /// user() of each address of process pid, in order.
    std::vector<frame> user_stack(pid_t pid, std::span<const std::uint64_t> addresses);

private:
    struct kernel_symbols;
    struct process;
    const process& process_of(pid_t pid);

    std::unique_ptr<kernel_symbols> kernel_;
    std::map<pid_t, std::unique_ptr<process>> processes_;
    std::map<std::string, std::shared_ptr<const elf_symbols>> files_;  // key: dev:inode:mtime:size
};

/// One line of folded stacks for flame graphs (flamegraph.pl, speedscope, inferno):
/// `comm;user outermost;...;user leaf;kernel outermost;...;kernel leaf count`.
/// Stacks are given leaf first, as bpf_get_stackid returns them. ';' in names becomes ':'.
std::string folded_line(std::string_view comm, std::span<const frame> user_leaf_first,
                        std::span<const frame> kernel_leaf_first, std::uint64_t count);

}  // namespace bpfco

// Doxygen cannot place a specialisation declared outside namespace fmt: kept out of the reference.
/// \cond
template <>
struct fmt::formatter<bpfco::frame> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(const bpfco::frame& f, FormatContext& ctx) const {
        return fmt::formatter<std::string_view>::format(bpfco::to_string(f), ctx);
    }
};
/// \endcond
