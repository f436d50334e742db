// JSON output helpers for the examples that print kernel-supplied strings.
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace examples {

/// A JSON string literal: the kernel hands us arbitrary bytes, so quotes, backslashes, control
/// and non-ASCII bytes are escaped.
inline std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += {'\\', static_cast<char>(c)};
        else if (c < 0x20 || c >= 0x7f) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
    return out + "\"";
}

/// A fixed-size char array from BPF, up to its first NUL.
inline std::string_view field(const char* s, std::size_t n) { return {s, ::strnlen(s, n)}; }

}  // namespace examples
