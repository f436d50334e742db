#include "events.hpp"

#include "monitord_events.h"

#include <arpa/inet.h>
#include <fcntl.h>

#include <cstring>

#include <fmt/format.h>

namespace monitord {

namespace {
template <class T>
std::optional<T> read_as(std::span<const std::byte> r) {
    if (r.size() < sizeof(T)) return std::nullopt;
    T v;
    std::memcpy(&v, r.data(), sizeof v);
    return v;
}

// Kernel strings are NUL-terminated within their array, but never trust that.
std::string_view bounded(const char* s, std::size_t cap) { return {s, ::strnlen(s, cap)}; }

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// Log lines are key=value: a value holding a space, '=', a quote, a backslash or a control
// character is quoted and escaped, so that no file name or comm can end a line, forge a field or
// drive the terminal. Control characters include C1 (U+0080-U+009F, UTF-8 C2 80-C2 9F): some
// terminals take C2 9B as CSI.
bool is_c1(std::string_view s, std::size_t i) {
    return static_cast<unsigned char>(s[i]) == 0xc2 && i + 1 < s.size() &&
           (static_cast<unsigned char>(s[i + 1]) & 0xe0) == 0x80;
}

std::string log_value(std::string_view s) {
    bool plain = !s.empty();
    for (std::size_t i = 0; i < s.size() && plain; ++i) {
        unsigned char c = s[i];
        plain = c > ' ' && c != '=' && c != '"' && c != '\\' && c != 0x7f && !is_c1(s, i);
    }
    if (plain) return std::string(s);
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = s[i];
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += fmt::format("\\x{:02x}", c);
            } else if (is_c1(s, i)) {
                out += fmt::format("\\x{:02x}\\x{:02x}", c, static_cast<unsigned char>(s[i + 1]));
                ++i;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

std::string address(int family, const __u8* a) {
    char buf[INET6_ADDRSTRLEN] = "?";
    ::inet_ntop(family, a, buf, sizeof buf);
    return buf;
}

std::string open_flags(int flags) {
    std::string s = (flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : (flags & O_ACCMODE) == O_RDWR ? "O_RDWR" : "O_RDONLY";
    if (flags & O_CREAT) s += "|O_CREAT";
    if (flags & O_TRUNC) s += "|O_TRUNC";
    if (flags & O_APPEND) s += "|O_APPEND";
    if (flags & O_CLOEXEC) s += "|O_CLOEXEC";
    if (flags & O_DIRECTORY) s += "|O_DIRECTORY";
    return s;
}

constexpr const char* mechanism_names[] = {"tracepoint", "kprobe", "fentry"};
}  // namespace

unsigned event_kind(std::span<const std::byte> record) { return read_as<__u32>(record).value_or(0); }

std::optional<std::string> format_event(std::span<const std::byte> record, output_format format) {
    const bool json = format == output_format::json;
    switch (event_kind(record)) {
    case MONITORD_EXEC: {
        auto e = read_as<monitord_exec>(record);
        if (!e) return std::nullopt;
        auto comm = bounded(e->comm, sizeof e->comm);
        auto file = bounded(e->filename, sizeof e->filename);
        if (json)
            return fmt::format(R"({{"event":"exec","pid":{},"ppid":{},"uid":{},"comm":{},"filename":{}}})", e->pid,
                               e->ppid, e->uid, json_string(comm), json_string(file));
        return fmt::format("exec    pid={} ppid={} uid={} comm={} filename={}", e->pid, e->ppid, e->uid,
                           log_value(comm), log_value(file));
    }
    case MONITORD_OPEN: {
        auto e = read_as<monitord_open>(record);
        if (!e) return std::nullopt;
        auto comm = bounded(e->comm, sizeof e->comm);
        auto path = bounded(e->path, sizeof e->path);
        if (json)
            return fmt::format(R"({{"event":"open","pid":{},"comm":{},"path":{},"flags":{},"flags_text":"{}","result":{}}})",
                               e->pid, json_string(comm), json_string(path), e->flags, open_flags(e->flags), e->result);
        return fmt::format("open    pid={} comm={} path={} flags={} result={}", e->pid, log_value(comm), log_value(path),
                           open_flags(e->flags), e->result);
    }
    case MONITORD_CONNECT: {
        auto e = read_as<monitord_connect>(record);
        if (!e || (e->family != AF_INET && e->family != AF_INET6) || e->mechanism > 2) return std::nullopt;
        auto comm = bounded(e->comm, sizeof e->comm);
        auto src = address(e->family, e->saddr), dst = address(e->family, e->daddr);
        if (json)
            return fmt::format(R"({{"event":"connect","pid":{},"comm":{},"family":"{}","saddr":"{}","sport":{},"daddr":"{}","dport":{},"via":"{}"}})",
                               e->pid, json_string(comm), e->family == AF_INET ? "ipv4" : "ipv6", src, e->sport, dst,
                               e->dport, mechanism_names[e->mechanism]);
        return fmt::format("connect pid={} comm={} {}:{} -> {}:{} (via {})", e->pid, log_value(comm), src, e->sport, dst,
                           e->dport, mechanism_names[e->mechanism]);
    }
    default:
        return std::nullopt;
    }
}

}  // namespace monitord
