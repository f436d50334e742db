#include <bpfco/maps/lpm_trie.hpp>

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace bpfco {

namespace {
template <std::size_t N>
result<std::array<std::uint8_t, N>> parse(std::string_view text) {
    std::array<std::uint8_t, N> out{};
    const std::string s(text);  // inet_pton needs a terminated string
    if (::inet_pton(N == 4 ? AF_INET : AF_INET6, s.c_str(), out.data()) != 1)
        return failure(EINVAL, fmt::format("'{}' is not an IPv{} address", text, N == 4 ? 4 : 6));
    return out;
}

template <std::size_t N>
result<lpm_key<N>> parse_prefix(std::string_view text) {
    constexpr std::uint32_t bits = N * 8;
    lpm_key<N> key{bits, {}};
    const auto slash = text.find('/');
    if (slash != std::string_view::npos) {
        const auto len = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), key.prefixlen);
        if (ec != std::errc{} || end != len.data() + len.size() || key.prefixlen > bits)
            return failure(EINVAL, fmt::format("'{}': prefix length must be 0 to {}", text, bits));
    }
    auto addr = parse<N>(text.substr(0, slash));
    if (!addr) {
        if (slash == std::string_view::npos) return addr.error();
        return failure(EINVAL, fmt::format("'{}': {}", text, addr.error().message));
    }
    key.addr = addr.value();
    return key;
}
}  // namespace

result<std::uint32_t> ipv4(std::string_view text) {
    BPFCO_TRY(auto bytes, parse<4>(text));
    std::uint32_t v;
    std::memcpy(&v, bytes.data(), sizeof v);
    return v;
}

result<std::array<std::uint8_t, 16>> ipv6(std::string_view text) { return parse<16>(text); }
result<ipv4_prefix_key> ipv4_prefix(std::string_view text) { return parse_prefix<4>(text); }
result<ipv6_prefix_key> ipv6_prefix(std::string_view text) { return parse_prefix<16>(text); }

}  // namespace bpfco
