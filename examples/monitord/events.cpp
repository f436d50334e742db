#include "events.hpp"

#include "monitord.bpf.types.hpp"  // monitord::monitord_exec, monitord_open, monitord_connect
#include "monitord_events.h"

#include <arpa/inet.h>
#include <fcntl.h>

#include <cstdint>
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

// A path the BPF side read into a full array (cap - 1 bytes and the NUL) may have been cut: the
// cut lands on a character boundary (a split UTF-8 sequence at the end is dropped) and is marked
// with U+2026, so a reader never takes a cut name for a whole one.
constexpr std::string_view cut_mark = "\u2026";

// One step of a UTF-8 walk: a code point and its length, or an invalid byte (cp < 0, len 1).
struct utf8_step {
    std::int32_t cp;
    std::size_t len;
};

utf8_step decode(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = b(0);
    if (c < 0x80) return {c, 1};
    const std::size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return {-1, 1};
    std::int32_t cp = c & (0x7f >> len);
    for (std::size_t k = 1; k < len; ++k) {
        if ((b(k) & 0xc0) != 0x80) return {-1, 1};
        cp = (cp << 6) | (b(k) & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not characters.
    const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return {-1, 1};
    return {cp, len};
}

// Characters no line of ours carries raw: C0, DEL and C1 controls drive terminals (C1 U+009B is
// CSI); U+2028/U+2029 end a line for readers that split the Unicode way (a forged event line);
// bidi controls (U+202A-U+202E, U+2066-U+2069) make a name display as another.
bool must_escape(std::int32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// The string cut back to its last whole character when it filled its array.
std::string_view cut_whole(std::string_view s, bool cut) {
    if (!cut) return s;
    std::size_t end = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto st = decode(s, i);
        // A lead byte whose sequence runs past the end is the split character: drop from there.
        if (st.cp < 0 && static_cast<unsigned char>(s[i]) >= 0xc2 && s.size() - i < 4) break;
        i += st.len;
        end = i;
    }
    return s.substr(0, end);
}

// JSON: always valid UTF-8; an invalid byte becomes U+FFFD, escaped characters \uXXXX.
std::string json_string(std::string_view s, bool cut = false) {
    s = cut_whole(s, cut);
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size();) {
        const auto st = decode(s, i);
        if (st.cp < 0) {
            out += "\\ufffd";
        } else if (st.cp == '"' || st.cp == '\\') {
            out += '\\';
            out += static_cast<char>(st.cp);
        } else if (must_escape(st.cp)) {
            out += fmt::format("\\u{:04x}", st.cp);
        } else {
            out.append(s.substr(i, st.len));
        }
        i += st.len;
    }
    if (cut) out += cut_mark;
    return out + "\"";
}

// Log lines are key=value: a value holding a space, '=', a quote, a backslash, an invalid byte or
// a character of must_escape() is quoted and escaped, so that no file name or comm can end a
// line, forge a field or drive the terminal. Invalid bytes and ASCII controls show as \xHH, other
// escaped characters as \u{XXXX}.
std::string log_value(std::string_view s, bool cut = false) {
    s = cut_whole(s, cut);
    bool plain = !s.empty();
    for (std::size_t i = 0; i < s.size() && plain;) {
        const auto st = decode(s, i);
        plain = st.cp > ' ' && st.cp != '=' && st.cp != '"' && st.cp != '\\' && !must_escape(st.cp);
        i += st.len;
    }
    const std::string mark = cut ? std::string(cut_mark) : std::string();
    if (plain) return std::string(s) + mark;
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size();) {
        const auto st = decode(s, i);
        switch (st.cp) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (st.cp < 0)
                out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
            else if (must_escape(st.cp) && st.cp < 0x80)
                out += fmt::format("\\x{:02x}", st.cp);
            else if (must_escape(st.cp))
                out += fmt::format("\\u{{{:04x}}}", st.cp);
            else
                out.append(s.substr(i, st.len));
        }
        i += st.len;
    }
    return out + mark + "\"";
}

// The BPF side reads paths with *_str helpers into MONITORD_PATH_LEN bytes: a full array means
// the name may go on.
bool filled(std::string_view s, std::size_t cap) { return s.size() + 1 >= cap; }

std::string address(int family, const std::uint8_t* a) {
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
                               e->ppid, e->uid, json_string(comm), json_string(file, filled(file, sizeof e->filename)));
        return fmt::format("exec    pid={} ppid={} uid={} comm={} filename={}", e->pid, e->ppid, e->uid,
                           log_value(comm), log_value(file, filled(file, sizeof e->filename)));
    }
    case MONITORD_OPEN: {
        auto e = read_as<monitord_open>(record);
        if (!e) return std::nullopt;
        auto comm = bounded(e->comm, sizeof e->comm);
        auto path = bounded(e->path, sizeof e->path);
        if (json)
            return fmt::format(R"({{"event":"open","pid":{},"comm":{},"path":{},"flags":{},"flags_text":"{}","result":{}}})",
                               e->pid, json_string(comm), json_string(path, filled(path, sizeof e->path)), e->flags, open_flags(e->flags), e->result);
        return fmt::format("open    pid={} comm={} path={} flags={} result={}", e->pid, log_value(comm), log_value(path, filled(path, sizeof e->path)),
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
