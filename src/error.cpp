#include <bpfco/error.hpp>

#include "internal/libbpf_log.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace bpfco {

namespace detail {

namespace {
thread_local libbpf_capture* current_capture = nullptr;

bool debugging() {
    static const bool debug = std::getenv("BPFCO_DEBUG") != nullptr;
    return debug;
}

int print_to_capture(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (debugging()) {
        va_list copy;
        va_copy(copy, args);
        std::vfprintf(stderr, fmt, copy);
        va_end(copy);
    }
    libbpf_capture* c = current_capture;
    if (c == nullptr || level == LIBBPF_DEBUG) return 0;
    // One call can carry a whole verifier log, so size the buffer from the text.
    va_list copy;
    va_copy(copy, args);
    int n = std::vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    if (n <= 0) return 0;
    std::string buf(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(buf.data(), buf.size(), fmt, args);
    c->append(buf.data(), static_cast<std::size_t>(n));
    return 0;
}
}  // namespace

void debug_log(std::string_view line) {
    if (debugging()) std::fprintf(stderr, "bpfco: %.*s\n", static_cast<int>(line.size()), line.data());
}

void libbpf_capture::append(const char* s, std::size_t n) {
    // The verifier log of a big program can be megabytes: the tail is what explains it.
    constexpr std::size_t cap = 1 << 20;
    if (text_.size() + n > cap) text_.erase(0, text_.size() + n - cap);
    text_.append(s, n);
}

libbpf_capture::libbpf_capture() : previous_(current_capture) {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(print_to_capture); });
    current_capture = this;
}

libbpf_capture::~libbpf_capture() { current_capture = previous_; }

std::string libbpf_capture::tail(std::size_t max_lines) const {
    std::string_view t = text_;
    if (auto b = t.rfind("-- BEGIN PROG LOAD LOG --"); b != std::string_view::npos) {
        t.remove_prefix(b + std::strlen("-- BEGIN PROG LOAD LOG --"));
        if (auto e = t.find("-- END PROG LOAD LOG --"); e != std::string_view::npos) t = t.substr(0, e);
    }
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.remove_suffix(1);
    std::size_t pos = t.size();
    for (std::size_t lines = 0; pos > 0 && lines < max_lines; ++lines) {
        auto nl = t.rfind('\n', pos - 1);
        pos = nl == std::string_view::npos ? 0 : nl;
    }
    std::string_view last = t.substr(pos);
    while (!last.empty() && last.front() == '\n') last.remove_prefix(1);
    return std::string(last);
}

std::string errno_text(int errnum) {
    char buf[256];
    if (libbpf_strerror(errnum, buf, sizeof buf) == 0) return buf;
    return std::strerror(errnum);
}

}  // namespace detail
}  // namespace bpfco
