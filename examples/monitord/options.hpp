// monitord's command line: parsed (by CLI11, in the examples' help layout) and validated before
// anything is attached, so that bad input exits with status 2 and a message naming what is wrong.
#pragma once

#include <bpfco/error.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace monitord {

/// An address range: 10.0.0.0/8, 192.0.2.1 (= /32), 2001:db8::/32. Host bits are cleared.
struct cidr {
    int family = 0;  ///< AF_INET or AF_INET6
    std::uint32_t prefix_len = 0;
    std::array<std::uint8_t, 16> addr{};  ///< network order; 4 bytes used for AF_INET

    std::string to_string() const;
    friend bool operator==(const cidr&, const cidr&) = default;
};

bpfco::result<cidr> parse_cidr(std::string_view text);

/// Publishing events to NATS (docs/fleet.md): --nats, --nats-stream, --host, --nats-queue.
struct nats_options {
    std::string url;     ///< nats://HOST:PORT (comma-separated for a cluster); empty: no publishing
    std::string stream;  ///< a JetStream stream to publish into (made when missing); empty: core NATS
    std::string host;    ///< the <host> of subjects monitord.<host>.<kind>; default: gethostname()'s first label
    std::size_t queue = 65536;  ///< events waiting to be published; more are dropped and counted
};

struct options {
    std::vector<std::string> interfaces;  ///< default {"lo"}
    std::vector<cidr> blocked;
    std::string listen_address = "127.0.0.1";
    std::uint16_t listen_port = 9435;
    bool json = false;
    std::optional<std::chrono::seconds> duration;  ///< none: until SIGINT/SIGTERM
    /// HTTP: a request's header must arrive whole within this; an idle keep-alive connection is
    /// closed after idle_timeout; connections past max_connections are answered 503 and closed.
    std::chrono::milliseconds header_timeout{5000};
    std::chrono::milliseconds idle_timeout{15000};
    std::size_t max_connections = 64;
    /// GET /events and the per-address cap (issues 24 and 27): connections from one client
    /// address past max_connections_per_address are answered 503; each subscriber queues at most
    /// event_queue events and is disconnected after event_stall_timeout with its queue full.
    std::size_t max_connections_per_address = 8;
    std::size_t event_queue = 1024;
    std::chrono::milliseconds event_stall_timeout{30000};
    std::size_t output_queue = 4096;  ///< event lines waiting for stdout; more are dropped and counted
    std::string user = "nobody";      ///< runs as this user once attached
    /// A bpffs directory: links and maps are pinned there, re-used by the next start and left
    /// attached at exit. Empty: everything is detached at exit.
    std::string pin_dir;
    bool detach = false;  ///< with pin_dir: remove what is pinned there and exit
    /// Export the run count and run time of monitord's own BPF programs, keeping the kernel's
    /// run-time statistics on (for every program on the host) while monitord runs.
    bool bpf_stats = false;
    nats_options nats;
    bool help = false;
};

/// args excludes the program name. Errors name the option and the bad value; --help or -h gives
/// options with help set.
bpfco::result<options> parse_options(std::span<const std::string_view> args);

/// The --help text.
std::string usage();

/// "127.0.0.1:9435", "[::1]:9435": an address and port as they are written in a URL.
std::string host_port(const std::string& address, std::uint16_t port);

/// True for 127.0.0.0/8 and ::1 (and ::ffff:127.x); metrics elsewhere are seen beyond this host.
bool is_loopback(const std::string& address);

}  // namespace monitord
