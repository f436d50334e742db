#include <bpfco/cpus.hpp>

#include "internal/libbpf_log.hpp"

#include <cerrno>
#include <charconv>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace bpfco {

namespace {

// Above any kernel's NR_CPUS (8192 today), so a corrupt list cannot make us allocate gigabytes.
constexpr unsigned max_cpu = 65535;

result<std::vector<int>> read_cpu_list(const char* path) {
    std::ifstream in(path);
    if (!in) {
        const int err = errno ? errno : EIO;
        return failure(err, fmt::format("file '{}': cannot open: {}", path, detail::errno_text(err)));
    }
    std::string line;
    std::getline(in, line);  // an empty or unreadable file leaves line empty: the parser says so
    auto cpus = parse_cpu_list(line);
    if (!cpus) return failure(cpus.error().code.value(), fmt::format("file '{}': {}", path, cpus.error().message));
    return cpus;
}

}  // namespace

result<std::vector<int>> parse_cpu_list(std::string_view list) {
    if (!list.empty() && list.back() == '\n') list.remove_suffix(1);
    auto bad = [whole = list](std::string_view why) {
        return failure(EINVAL, fmt::format("CPU list '{}': cannot parse: {}", whole, why));
    };
    if (list.empty()) return bad("empty");
    const char* p = list.data();
    const char* const end = p + list.size();
    // One CPU number at p; an empty string on success, else why not.
    auto number = [&](unsigned& out) -> std::string {
        const auto r = std::from_chars(p, end, out);
        if (r.ec == std::errc::result_out_of_range || (r.ec == std::errc{} && out > max_cpu))
            return fmt::format("CPU number above {}", max_cpu);
        if (r.ec != std::errc{}) return "expected a CPU number";
        p = r.ptr;
        return {};
    };
    std::vector<int> cpus;
    for (;;) {
        unsigned first = 0;
        if (auto why = number(first); !why.empty()) return bad(why);
        unsigned last = first;
        if (p != end && *p == '-') {
            ++p;
            if (auto why = number(last); !why.empty()) return bad(why);
            if (last < first) return bad(fmt::format("range {}-{} ends below its start", first, last));
        }
        if (!cpus.empty() && static_cast<int>(first) <= cpus.back())
            return bad(fmt::format("CPU {} out of order or repeated", first));
        for (unsigned c = first; c <= last; ++c) cpus.push_back(static_cast<int>(c));
        if (p == end) return cpus;
        if (*p != ',') return bad(fmt::format("unexpected '{}'", *p));
        ++p;
    }
}

result<std::vector<int>> online_cpus() { return read_cpu_list("/sys/devices/system/cpu/online"); }

result<std::size_t> possible_cpus() {
    // The set is fixed at boot, so one read serves every caller (a function-local static is
    // initialised once, thread-safely).
    static const result<std::size_t> count = []() -> result<std::size_t> {
        BPFCO_TRY(auto cpus, read_cpu_list("/sys/devices/system/cpu/possible"));
        return cpus.size();
    }();
    return count;
}

}  // namespace bpfco
