#include "options.hpp"

#include <bpfco/lpm_trie.hpp>

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

namespace monitord {

namespace {
bpfco::error bad(std::string message) { return bpfco::make_error(EINVAL, std::move(message)); }

template <class Int>
std::optional<Int> parse_int(std::string_view s) {
    Int v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}
}  // namespace

bpfco::result<cidr> parse_cidr(std::string_view text) {
    cidr c;
    if (text.find(':') == std::string_view::npos) {
        BPFCO_TRY(auto key, bpfco::ipv4_prefix(text));
        c.family = AF_INET;
        c.prefix_len = key.prefixlen;
        std::copy(key.addr.begin(), key.addr.end(), c.addr.begin());
    } else {
        BPFCO_TRY(auto key, bpfco::ipv6_prefix(text));
        c.family = AF_INET6;
        c.prefix_len = key.prefixlen;
        c.addr = key.addr;
    }
    // The trie ignores bits past the prefix; clearing them makes the range print as users write it.
    const std::uint32_t bits = c.family == AF_INET ? 32 : 128;
    for (std::uint32_t bit = c.prefix_len; bit < bits; ++bit)
        c.addr[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    return c;
}

std::string cidr::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family, addr.data(), buf, sizeof buf);
    return fmt::format("{}/{}", buf, prefix_len);
}

std::string usage() {
    return "usage: monitord [options]\n"
           "Watches network packets, process execs, file opens and TCP connects with eBPF;\n"
           "logs events and serves Prometheus metrics.\n\n"
           "  --interface IF     attach XDP/TC packet counters to IF (repeatable; default lo)\n"
           "  --block CIDR       drop packets from this IPv4/IPv6 range (repeatable)\n"
           "  --listen ADDR:PORT metrics endpoint (default 127.0.0.1:9435; [::1]:PORT for IPv6)\n"
           "  --json             print events as JSON lines instead of log lines\n"
           "  --duration SECONDS stop after this long (default: until SIGINT/SIGTERM)\n"
           "  --help             this text\n";
}

bpfco::result<options> parse_options(std::span<const std::string_view> args) {
    options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        std::string_view value;
        bool has_value = false;
        // Both "--opt value" and "--opt=value".
        if (auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
            value = a.substr(eq + 1);
            a = a.substr(0, eq);
            has_value = true;
        }
        const bool takes_value = a == "--interface" || a == "--block" || a == "--listen" || a == "--duration";
        if (takes_value && !has_value) {
            if (i + 1 == args.size()) return bad(fmt::format("{} needs a value", a));
            value = args[++i];
        }
        if (!takes_value && has_value) return bad(fmt::format("{} takes no value", a));
        if (a == "--help" || a == "-h") {
            o.help = true;
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--interface") {
            if (value.empty() || value.size() >= 16)
                return bad(fmt::format("--interface '{}': not an interface name", value));
            o.interfaces.emplace_back(value);
        } else if (a == "--block") {
            auto c = parse_cidr(value);
            if (!c) return bad(fmt::format("--block {}", c.error().message));
            o.blocked.push_back(c.value());
        } else if (a == "--listen") {
            auto colon = value.rfind(':');
            if (colon == std::string_view::npos)
                return bad(fmt::format("--listen '{}': expected ADDRESS:PORT", value));
            std::string_view host = value.substr(0, colon);
            if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
            auto port = parse_int<std::uint16_t>(value.substr(colon + 1));
            if (!port) return bad(fmt::format("--listen '{}': the port must be 0 to 65535", value));
            std::array<std::uint8_t, 16> probe{};
            std::string h(host);
            if (::inet_pton(AF_INET, h.c_str(), probe.data()) != 1 && ::inet_pton(AF_INET6, h.c_str(), probe.data()) != 1)
                return bad(fmt::format("--listen '{}': '{}' is not an IP address", value, host));
            o.listen_address = h;
            o.listen_port = *port;
        } else if (a == "--duration") {
            auto s = parse_int<std::uint32_t>(value);
            if (!s || *s == 0) return bad(fmt::format("--duration '{}': expected a whole number of seconds > 0", value));
            o.duration = std::chrono::seconds(*s);
        } else {
            return bad(fmt::format("unknown option '{}' (see --help)", args[i]));
        }
    }
    if (o.interfaces.empty()) o.interfaces.emplace_back("lo");
    return o;
}

}  // namespace monitord
