#include "options.hpp"

#include "command_line.hpp"

#include <bpfco/maps/lpm_trie.hpp>

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace monitord {

namespace {
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

// Each option's check runs once parsing is done; its message is the whole usage error.
[[noreturn]] void bad(std::string message) { throw CLI::ValidationError(std::move(message)); }

void check_interface(options& o, const std::string& value) {
    if (value.empty() || value.size() >= 16) bad(fmt::format("--interface '{}': not an interface name", value));
    // A second XDP attach to the same interface fails with EBUSY: say so before attaching.
    if (std::find(o.interfaces.begin(), o.interfaces.end(), value) != o.interfaces.end())
        bad(fmt::format("--interface {}: given twice", value));
    o.interfaces.push_back(value);
}

void check_listen(options& o, std::string_view value) {
    auto colon = value.rfind(':');
    if (colon == std::string_view::npos) bad(fmt::format("--listen '{}': expected ADDRESS:PORT", value));
    std::string_view host = value.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto port = parse_int<std::uint16_t>(value.substr(colon + 1));
    if (!port) bad(fmt::format("--listen '{}': the port must be 0 to 65535", value));
    std::array<std::uint8_t, 16> probe{};
    std::string h(host);
    if (::inet_pton(AF_INET, h.c_str(), probe.data()) != 1 && ::inet_pton(AF_INET6, h.c_str(), probe.data()) != 1)
        bad(fmt::format("--listen '{}': '{}' is not an IP address", value, host));
    o.listen_address = h;
    o.listen_port = *port;
}

void add_seconds(examples::command_line& cli, const std::string& name, std::chrono::milliseconds& field,
                 const std::string& help) {
    cli.add_option_function<std::string>(name, [name, &field](const std::string& v) {
           auto t = parse_seconds(v);
           if (!t) bad(fmt::format("{} '{}': expected seconds, 0.001 to 3600", name, v));
           field = *t;
       }, help)
        ->type_name("S");
}

CLI::Option* add_count(examples::command_line& cli, const std::string& name, std::size_t& field,
                       const std::string& help) {
    return cli.add_option_function<std::string>(name, [name, &field](const std::string& v) {
           auto n = parse_int<std::uint32_t>(v);
           if (!n || *n == 0 || *n > 1000000) bad(fmt::format("{} '{}': expected 1 to 1000000", name, v));
           field = *n;
       }, help)
        ->type_name("N");
}

// A token of a NATS subject: no dots, wildcards or white space, so monitord.<host>.<kind> stays three tokens.
bool subject_token(std::string_view s) {
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(),
                       [](char c) { return c > ' ' && c < 127 && c != '.' && c != '*' && c != '>'; });
}

// Publishing to NATS, in one group of the help.
void define_nats(examples::command_line& cli, nats_options& o) {
    using text = const std::string&;
    const std::string group = "Fleet: events to NATS (docs/fleet.md)";
    cli.add_option_function<std::string>("--nats", [&o](text v) {
           for (std::string_view rest = v;;) {
               const auto comma = rest.find(',');
               const auto url = rest.substr(0, comma);
               if (!url.starts_with("nats://") || url.size() == 7)
                   bad(fmt::format("--nats '{}': expected nats://HOST:PORT[,nats://HOST:PORT...]", v));
               if (comma == std::string_view::npos) break;
               rest.remove_prefix(comma + 1);
           }
           o.url = v;
       }, "publish every event as JSON to NATS at URL, on subjects\n"
          "monitord.<host>.<kind>; never blocks the event reader: a queue,\n"
          "drops counted in monitord_nats_dropped_total")
        ->type_name("URL")->group(group);
    cli.add_option_function<std::string>("--nats-stream", [&o](text v) {
           if (!subject_token(v))
               bad(fmt::format("--nats-stream '{}': expected a stream name (no dots, wildcards or spaces)", v));
           o.stream = v;
       }, "publish into this JetStream stream (made on file storage, subjects\n"
          "monitord.>, when missing), each event acknowledged and resent until it\n"
          "is; message ids let JetStream drop the resent copies")
        ->type_name("NAME")->group(group);
    cli.add_option_function<std::string>("--host", [&o](text v) {
           if (!subject_token(v)) bad(fmt::format("--host '{}': expected a name without dots, wildcards or spaces", v));
           o.host = v;
       }, "this host's name in the subjects (default: the host name up to its\n"
          "first dot)")
        ->type_name("NAME")->group(group);
    add_count(cli, "--nats-queue", o.queue, "events waiting to be published; when full, events are dropped\n"
                                            "and counted (default 65536)")
        ->group(group);
}

// The whole command line, each option bound to its check; o receives what they accept.
void define(examples::command_line& cli, options& o) {
    using text = const std::string&;
    cli.add_option_function<std::vector<std::string>>("--interface", [&o](const std::vector<std::string>& values) {
           for (const auto& v : values) check_interface(o, v);
       }, "attach XDP/TC packet counters to IF (repeatable; default lo)")
        ->type_name("IF")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cli.add_option_function<std::vector<std::string>>("--block", [&o](const std::vector<std::string>& values) {
           for (const auto& v : values) {
               auto c = parse_cidr(v);
               if (!c) bad(fmt::format("--block {}", c.error().message));
               o.blocked.push_back(c.value());
           }
       }, "drop packets from this IPv4/IPv6 range (repeatable)")
        ->type_name("CIDR")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cli.add_option_function<std::string>("--listen", [&o](text v) { check_listen(o, v); },
                                         "metrics endpoint (default 127.0.0.1:9435; [::1]:PORT for IPv6);\n"
                                         "a non-loopback address is served with a warning: no authentication")
        ->type_name("ADDR:PORT");
    cli.add_flag("--json", o.json, "print events as JSON lines instead of log lines")->disable_flag_override();
    cli.add_option_function<std::string>("--duration", [&o](text v) {
           auto s = parse_int<std::uint32_t>(v);
           if (!s || *s == 0) bad(fmt::format("--duration '{}': expected a whole number of seconds > 0", v));
           o.duration = std::chrono::seconds(*s);
       }, "stop after this long (default: until SIGINT/SIGTERM)")
        ->type_name("SECONDS");
    add_seconds(cli, "--header-timeout", o.header_timeout,
                "close an HTTP connection whose request header is not in after S\n"
                "seconds (default 5; decimals allowed)");
    add_seconds(cli, "--idle-timeout", o.idle_timeout,
                "close an idle keep-alive HTTP connection after S seconds (default 15)");
    add_count(cli, "--max-connections", o.max_connections,
              "at most N HTTP connections; more are answered 503 (default 64)");
    add_count(cli, "--max-connections-per-address", o.max_connections_per_address,
              "at most N HTTP connections from one client address, event streams\n"
              "included; more are answered 503 (default 8)");
    add_count(cli, "--event-queue", o.event_queue,
              "events waiting for each GET /events subscriber; when full, its events\n"
              "are dropped, counted and told to it in-band (default 1024)");
    add_seconds(cli, "--event-stall-timeout", o.event_stall_timeout,
                "disconnect a GET /events subscriber whose queue stays full for S\n"
                "seconds (default 30)");
    add_count(cli, "--output-queue", o.output_queue,
              "event lines waiting for stdout; when full, lines are dropped and\n"
              "counted in monitord_output_dropped_total (default 4096)");
    cli.add_option_function<std::string>("--user", [&o](text v) {
           if (v.empty()) bad("--user: expected a user name");
           o.user = v;
       }, "run as this user once attached (default nobody)")
        ->type_name("NAME");
    cli.add_option_function<std::string>("--pin-dir", [&o](text v) {
           if (v.empty() || v.front() != '/') bad(fmt::format("--pin-dir '{}': expected an absolute path", v));
           o.pin_dir = v;
           while (o.pin_dir.size() > 1 && o.pin_dir.back() == '/') o.pin_dir.pop_back();
       }, "pin links and maps under DIR (on bpffs); a restart with the same DIR\n"
          "swaps the programs behind the pinned XDP/TC links and keeps the\n"
          "counters and blocklist; at exit they stay attached")
        ->type_name("DIR");
    cli.add_flag("--detach", o.detach, "with --pin-dir: remove what monitord pinned under DIR (detaching\n"
                                        "it) and exit; other pins are left and named")
        ->disable_flag_override();
    cli.add_flag("--bpf-stats", o.bpf_stats,
                 "export the run count and CPU time of monitord's BPF programs\n"
                 "(monitord_bpf_program_runs_total, ..._run_seconds_total); turns on the\n"
                 "kernel's BPF run-time statistics while monitord runs, which adds a\n"
                 "little to every BPF program run on the host (default off)")
        ->disable_flag_override();
    define_nats(cli, o.nats);
}

examples::command_line monitord_command_line() {
    return {"monitord",
            "Watches network packets, process execs, file opens and TCP connects with eBPF;\n"
            "logs events and serves Prometheus metrics."};
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
    options ignored;
    auto cli = monitord_command_line();
    define(cli, ignored);
    return cli.help();
}

bpfco::result<options> parse_options(std::span<const std::string_view> args) {
    options o;
    auto cli = monitord_command_line();
    define(cli, o);
    // CLI11 takes the arguments last first.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        cli.parse(std::move(reversed));
    } catch (const CLI::CallForHelp&) {
        o.help = true;
        return o;
    } catch (const CLI::ParseError& e) {
        return bpfco::make_error(EINVAL, e.what());
    }
    if (o.detach && o.pin_dir.empty()) return bpfco::make_error(EINVAL, "--detach needs --pin-dir DIR");
    if (o.interfaces.empty()) o.interfaces.emplace_back("lo");
    if (!o.nats.stream.empty() && o.nats.url.empty())
        return bpfco::make_error(EINVAL, "--nats-stream needs --nats URL");
    if (o.nats.host.empty()) {
        std::array<char, 256> name{};
        ::gethostname(name.data(), name.size() - 1);
        o.nats.host = std::string(name.data(), std::strcspn(name.data(), ".*> \t"));
        if (o.nats.host.empty()) o.nats.host = "localhost";
    }
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
