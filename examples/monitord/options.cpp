#include "options.hpp"

#include <bpfco/maps/lpm_trie.hpp>

#include <arpa/inet.h>

#include <cerrno>
#include <algorithm>
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

// "0.5" or "10": seconds, to the millisecond, within (0, 3600].
std::optional<std::chrono::milliseconds> parse_seconds(std::string_view s) {
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || !(v >= 0.001 && v <= 3600)) return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(v * 1000 + 0.5));
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
           "  --listen ADDR:PORT metrics endpoint (default 127.0.0.1:9435; [::1]:PORT for IPv6);\n"
           "                     a non-loopback address is served with a warning: no authentication\n"
           "  --json             print events as JSON lines instead of log lines\n"
           "  --duration SECONDS stop after this long (default: until SIGINT/SIGTERM)\n"
           "  --header-timeout S close an HTTP connection whose request header is not in after S\n"
           "                     seconds (default 5; decimals allowed)\n"
           "  --idle-timeout S   close an idle keep-alive HTTP connection after S seconds (default 15)\n"
           "  --max-connections N  at most N HTTP connections; more are answered 503 (default 64)\n"
           "  --output-queue N   event lines waiting for stdout; when full, lines are dropped and\n"
           "                     counted in monitord_output_dropped_total (default 4096)\n"
           "  --user NAME        run as this user once attached (default nobody)\n"
           "  --pin-dir DIR      pin links and maps under DIR (on bpffs); a restart with the same DIR\n"
           "                     swaps the programs behind the pinned XDP/TC links and keeps the\n"
           "                     counters and blocklist; at exit they stay attached\n"
           "  --detach           with --pin-dir: remove everything pinned under DIR (detaching it)\n"
           "                     and exit\n"
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
        const bool takes_value = a == "--interface" || a == "--block" || a == "--listen" || a == "--duration" ||
                                 a == "--header-timeout" || a == "--idle-timeout" || a == "--max-connections" ||
                                 a == "--output-queue" || a == "--user" || a == "--pin-dir";
        if (takes_value && !has_value) {
            if (i + 1 == args.size()) return bad(fmt::format("{} needs a value", a));
            value = args[++i];
        }
        if (!takes_value && has_value) return bad(fmt::format("{} takes no value", a));
        if (a == "--help" || a == "-h") {
            o.help = true;
        } else if (a == "--detach") {
            o.detach = true;
        } else if (a == "--pin-dir") {
            if (value.empty() || value.front() != '/') return bad(fmt::format("--pin-dir '{}': expected an absolute path", value));
            o.pin_dir = value;
            while (o.pin_dir.size() > 1 && o.pin_dir.back() == '/') o.pin_dir.pop_back();
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--interface") {
            if (value.empty() || value.size() >= 16)
                return bad(fmt::format("--interface '{}': not an interface name", value));
            // A second XDP attach to the same interface fails with EBUSY: say so before attaching.
            if (std::find(o.interfaces.begin(), o.interfaces.end(), value) != o.interfaces.end())
                return bad(fmt::format("--interface {}: given twice", value));
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
        } else if (a == "--header-timeout" || a == "--idle-timeout") {
            auto t = parse_seconds(value);
            if (!t) return bad(fmt::format("{} '{}': expected seconds, 0.001 to 3600", a, value));
            (a == "--header-timeout" ? o.header_timeout : o.idle_timeout) = *t;
        } else if (a == "--max-connections" || a == "--output-queue") {
            auto n = parse_int<std::uint32_t>(value);
            if (!n || *n == 0 || *n > 1000000) return bad(fmt::format("{} '{}': expected 1 to 1000000", a, value));
            (a == "--max-connections" ? o.max_connections : o.output_queue) = *n;
        } else if (a == "--user") {
            if (value.empty()) return bad("--user: expected a user name");
            o.user = value;
        } else {
            return bad(fmt::format("unknown option '{}' (see --help)", args[i]));
        }
    }
    if (o.detach && o.pin_dir.empty()) return bad("--detach needs --pin-dir DIR");
    if (o.interfaces.empty()) o.interfaces.emplace_back("lo");
    return o;
}

std::string host_port(const std::string& address, std::uint16_t port) {
    if (address.find(':') != std::string::npos) return fmt::format("[{}]:{}", address, port);
    return fmt::format("{}:{}", address, port);
}

bool is_loopback(const std::string& address) {
    std::array<std::uint8_t, 16> a{};
    if (::inet_pton(AF_INET, address.c_str(), a.data()) == 1) return a[0] == 127;
    if (::inet_pton(AF_INET6, address.c_str(), a.data()) != 1) return false;
    static constexpr std::array<std::uint8_t, 16> v6_loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const bool v4_mapped = std::all_of(a.begin(), a.begin() + 10, [](auto b) { return b == 0; }) && a[10] == 0xff &&
                           a[11] == 0xff;
    return a == v6_loopback || (v4_mapped && a[12] == 127);
}

}  // namespace monitord
