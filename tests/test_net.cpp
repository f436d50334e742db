// Networking: devmap and cpumap redirects between veth pairs in namespaces the tests make (and
// remove), bloom filters read by a BPF program, and the errors for sockets and interfaces the
// kernel refuses. Every namespace and interface carries the bpfco_net_ prefix.
#include "support.hpp"

#include "net_test.bpf.skel.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

using namespace bpfco;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using bpfco::testing::elf_of;
using bpfco::testing::run;

namespace {

constexpr std::uint16_t steered_port = 47001;

object load_net_test() { return object::load_memory("net_test", elf_of(net_test_bpf__elf_bytes)).value(); }

void configure(const object& obj, std::uint32_t key, std::uint32_t value) {
    obj.map<array<std::uint32_t>>("settings").value().insert(key, value).value();
}

/// A named network namespace, removed (with the interfaces in it) when destroyed.
class netns {
public:
    explicit netns(std::string name) : name_(std::move(name)) {
        run("ip netns del " + name_ + " 2>/dev/null");
        REQUIRE(run("ip netns add " + name_) == 0);
        run("ip -n " + name_ + " link set lo up");
    }
    ~netns() { run("ip netns del " + name_); }
    netns(const netns&) = delete;
    netns& operator=(const netns&) = delete;
    const std::string& name() const { return name_; }

private:
    std::string name_;
};

/// Moves the calling thread into a namespace for its scope (sockets made meanwhile stay there).
class enter_netns {
public:
    explicit enter_netns(const netns& ns)
        : old_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
        unique_fd target(::open(("/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC));
        REQUIRE(target);
        REQUIRE(::setns(target.get(), CLONE_NEWNET) == 0);
    }
    ~enter_netns() { ::setns(old_.get(), CLONE_NEWNET); }
    enter_netns(const enter_netns&) = delete;
    enter_netns& operator=(const enter_netns&) = delete;

private:
    unique_fd old_;
};

/// A veth pair from `a` (in ns_a, address ip_a/24) to `b` (in ns_b, ip_b/24), fixed MACs, static
/// neighbour entries both ways, so no ARP packet mixes with the ones a test counts.
void veth(const netns& ns_a, const std::string& a, const std::string& mac_a, const std::string& ip_a,
          const netns& ns_b, const std::string& b, const std::string& mac_b, const std::string& ip_b) {
    REQUIRE(run("ip -n " + ns_a.name() + " link add " + a + " address " + mac_a + " type veth peer name " + b +
                " address " + mac_b + " netns " + ns_b.name()) == 0);
    REQUIRE(run("ip -n " + ns_a.name() + " addr add " + ip_a + "/24 dev " + a) == 0);
    REQUIRE(run("ip -n " + ns_b.name() + " addr add " + ip_b + "/24 dev " + b) == 0);
    REQUIRE(run("ip -n " + ns_a.name() + " link set " + a + " up") == 0);
    REQUIRE(run("ip -n " + ns_b.name() + " link set " + b + " up") == 0);
    REQUIRE(run("ip -n " + ns_a.name() + " neigh replace " + ip_b + " lladdr " + mac_b + " dev " + a) == 0);
    REQUIRE(run("ip -n " + ns_b.name() + " neigh replace " + ip_a + " lladdr " + mac_a + " dev " + b) == 0);
}

sockaddr_in address(const std::string& ip, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    REQUIRE(::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) == 1);
    return sa;
}

unique_fd udp_socket() {
    unique_fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    REQUIRE(s);
    return s;
}

unique_fd bound_udp(const std::string& ip, std::uint16_t port) {
    auto s = udp_socket();
    auto sa = address(ip, port);
    REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    return s;
}

void send_udp(int fd, const std::string& ip, std::uint16_t port, std::string_view payload) {
    auto sa = address(ip, port);
    REQUIRE(::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) ==
            static_cast<ssize_t>(payload.size()));
}

/// Datagrams waiting on a non-blocking socket, read until it is empty.
std::vector<std::string> drain(int fd) {
    std::vector<std::string> out;
    char buf[2048];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0) return out;
        out.emplace_back(buf, static_cast<std::size_t>(n));
    }
}

std::uint64_t count_at(const object& obj, std::string_view map, std::uint32_t key) {
    return obj.map<array<std::uint64_t>>(map).value().lookup(key).value().value_or(0);
}

/// Waits up to 2 s for a counter the kernel updates asynchronously (cpumap kthreads, veth NAPI).
std::uint64_t settle_count(const object& obj, std::string_view map, std::uint32_t key, std::uint64_t want) {
    std::uint64_t n = 0;
    for (int i = 0; i < 200 && (n = count_at(obj, map, key)) < want; ++i) ::usleep(10'000);
    return n;
}

/// Sender a0 (ns a) -> a1 (ns m) and m's b1 -> b0 (ns b).
struct three_namespaces {
    netns a{"bpfco_net_a"}, m{"bpfco_net_m"}, b{"bpfco_net_b"};
    three_namespaces() {
        veth(a, "bpfco_net_a0", "02:00:00:77:01:01", "10.77.1.1", m, "bpfco_net_a1", "02:00:00:77:01:02", "10.77.1.2");
        veth(m, "bpfco_net_b1", "02:00:00:77:02:01", "10.77.2.1", b, "bpfco_net_b0", "02:00:00:77:02:02", "10.77.2.2");
    }
};

}  // namespace

TEST_CASE("devmap: N packets into veth A all leave on veth B through its second program, none reach A's stack") {
    BPFCO_REQUIRE_ROOT();
    bpfco::testing::fd_leak_check fds;
    three_namespaces net;
    auto obj = load_net_test();
    configure(obj, 0, steered_port);
    constexpr int n = 100;
    {
        enter_netns in_m(net.m);
        auto ports = obj.map<devmap>("tx_ports").value();
        ports.insert(0, "bpfco_net_b1").value();
        auto slot = ports.lookup(0).value();
        REQUIRE(slot);
        CHECK(slot->ifindex == interface_index("bpfco_net_b1").value());
        CHECK(slot->program_id == 0);
        // With a second program, run on each packet on its way out.
        ports.insert(0, interface_index("bpfco_net_b1").value(), obj.program("count_egress").value()).value();
        CHECK(ports.lookup(0).value()->program_id != 0);
        auto redirect = obj.program("redirect_dev").value().attach_xdp("bpfco_net_a1", xdp_mode::generic).value();
        auto m_socket = bound_udp("10.77.1.2", steered_port);  // A's stack: must get nothing
        {
            enter_netns in_b(net.b);
            auto counter = obj.program("count_received").value().attach_xdp("bpfco_net_b0", xdp_mode::generic).value();
            {
                enter_netns in_a(net.a);
                auto s = udp_socket();
                for (int i = 0; i < n; ++i) send_udp(s.get(), "10.77.1.2", steered_port, "redirect me");
            }
            CHECK(settle_count(obj, "received", 0, n) == n);
        }
        CHECK(count_at(obj, "counts", 0) == n);
        CHECK(count_at(obj, "counts", 4) == n);
        CHECK(drain(m_socket.get()).empty());
    }
}

TEST_CASE("devmap: an interface that does not exist is refused, naming the map and the index") {
    BPFCO_REQUIRE_ROOT();
    auto m = map::create(bpfco::map_type::devmap_hash, "bpfco_net_dev", 4, 8, 4).value();
    auto ports = devmap_hash::make(std::move(m)).value();
    auto r = ports.insert(7, 999'999);
    REQUIRE(r.has_error());
    CHECK(r.error().message.find("no interface with that index") != std::string::npos);
    CHECK(r.error().message.find("bpfco_net_dev") != std::string::npos);
    CHECK(r.error().message.find("999999") != std::string::npos);
    auto by_name = ports.insert(7, "bpfco_net_nosuch");
    REQUIRE(by_name.has_error());
    CHECK(by_name.error().message.find("bpfco_net_nosuch") != std::string::npos);
    CHECK_FALSE(ports.lookup(7).value());
}

TEST_CASE("cpumap: packets redirected to a chosen CPU are counted on that CPU") {
    BPFCO_REQUIRE_ROOT();
    if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        bpfco::testing::skip("needs two online CPUs");
        return;
    }
    three_namespaces net;
    auto obj = load_net_test();
    constexpr std::uint32_t cpu = 1;
    configure(obj, 0, steered_port);
    configure(obj, 1, cpu);
    auto cpus = obj.map<cpumap>("cpus").value();
    cpus.insert(cpu, 256, obj.program("count_on_cpu").value()).value();
    CHECK(cpus.queue_size(cpu).value() == std::optional<std::uint32_t>(256));
    CHECK_FALSE(cpus.queue_size(0).value());
    constexpr int n = 50;
    {
        enter_netns in_m(net.m);
        auto redirect = obj.program("redirect_cpu").value().attach_xdp("bpfco_net_a1", xdp_mode::generic).value();
        enter_netns in_a(net.a);
        auto s = udp_socket();
        for (int i = 0; i < n; ++i) send_udp(s.get(), "10.77.1.2", steered_port, "to cpu 1");
    }
    CHECK(settle_count(obj, "counts", cpu, n) == n);
    CHECK(count_at(obj, "counts", 0) == 0);
    CHECK(cpus.erase(cpu).value());
}

TEST_CASE("bloom_filter: pushed values are found by a BPF program, absent ones are not") {
    BPFCO_REQUIRE_ROOT();
    auto obj = load_net_test();
    auto seen = obj.map<bloom_filter<std::uint32_t>>("seen").value();
    auto prog = obj.program("bloom_check").value();
    auto in_filter = [&](std::uint32_t v) {
        std::vector<std::byte> packet(64);
        std::memcpy(packet.data(), &v, sizeof v);
        test_run_options o;
        o.data_in = packet;
        return test_run(prog, o).value().return_value == XDP_PASS;
    };
    for (std::uint32_t v = 1; v <= 100; ++v) seen.insert(v * 7919).value();
    for (std::uint32_t v = 1; v <= 100; ++v) {
        CHECK(in_filter(v * 7919));
        CHECK(seen.contains(v * 7919).value());
    }
    // 1000 entries and 5 hashes: a false positive rate well under 1%, so of 1000 absent values
    // at most a few may be reported; most must not be.
    int false_positives = 0;
    for (std::uint32_t v = 1; v <= 1000; ++v) false_positives += in_filter(v * 7919 + 1) ? 1 : 0;
    CHECK(false_positives < 50);
    CHECK_FALSE(bloom_filter<std::uint64_t>::make(obj.map("seen").value()).has_value());
}

TEST_CASE("sockmap: the kernel refuses an unbound UDP socket, and the error names the socket") {
    BPFCO_REQUIRE_ROOT();
    auto obj = load_net_test();
    auto socks = obj.map<sockmap>("splice").value();
    auto s = udp_socket();
    auto r = socks.insert(0, s.get());
    REQUIRE(r.has_error());
    CHECK(r.error().code.value() == EOPNOTSUPP);
    CHECK(r.error().message.find("splice") != std::string::npos);
    CHECK(r.error().message.find("socket fd " + std::to_string(s.get())) != std::string::npos);
}

TEST_CASE("xskmap: a socket that is not AF_XDP is refused, naming the queue and the socket") {
    BPFCO_REQUIRE_ROOT();
    auto obj = load_net_test();
    auto xsks = obj.map<xskmap>("xsks").value();
    auto s = udp_socket();
    auto r = xsks.insert(0, s.get());
    REQUIRE(r.has_error());
    CHECK(r.error().message.find("xsks") != std::string::npos);
    CHECK(r.error().message.find("queue 0 -> socket fd " + std::to_string(s.get())) != std::string::npos);
}

namespace {

/// An Ethernet + IPv4 + UDP frame (IP checksum computed, UDP checksum 0: none).
std::vector<std::byte> udp_frame(const std::string& src_mac, const std::string& dst_mac, const std::string& src_ip,
                                 const std::string& dst_ip, std::uint16_t src_port, std::uint16_t dst_port,
                                 std::string_view payload) {
    std::vector<std::byte> f(14 + 20 + 8 + payload.size());
    auto put = [&](std::size_t at, const void* p, std::size_t n) { std::memcpy(f.data() + at, p, n); };
    auto mac = [&](std::size_t at, const std::string& text) {
        unsigned b[6];
        REQUIRE(std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) == 6);
        for (int i = 0; i < 6; ++i) f[at + i] = std::byte(b[i]);
    };
    mac(0, dst_mac);
    mac(6, src_mac);
    const std::uint16_t ip_proto = htons(0x0800), total = htons(static_cast<std::uint16_t>(20 + 8 + payload.size())),
                        udp_len = htons(static_cast<std::uint16_t>(8 + payload.size())), sp = htons(src_port),
                        dp = htons(dst_port);
    put(12, &ip_proto, 2);
    f[14] = std::byte{0x45};
    put(16, &total, 2);
    f[22] = std::byte{64};  // TTL
    f[23] = std::byte{17};  // UDP
    auto s = address(src_ip, 0).sin_addr, d = address(dst_ip, 0).sin_addr;
    put(26, &s, 4);
    put(30, &d, 4);
    std::uint32_t sum = 0;
    for (std::size_t i = 14; i < 34; i += 2) sum += (std::to_integer<std::uint32_t>(f[i]) << 8) | std::to_integer<std::uint32_t>(f[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    const std::uint16_t check = htons(static_cast<std::uint16_t>(~sum));
    put(24, &check, 2);
    put(34, &sp, 2);
    put(36, &dp, 2);
    put(38, &udp_len, 2);
    put(42, payload.data(), payload.size());
    return f;
}

/// Sender a0 (ns a) -> a1 (ns m), where the AF_XDP socket and its XDP program live.
struct two_namespaces {
    netns a{"bpfco_net_xa"}, m{"bpfco_net_xm"};
    two_namespaces() {
        veth(a, "bpfco_net_a0", "02:00:00:78:01:01", "10.78.1.1", m, "bpfco_net_a1", "02:00:00:78:01:02", "10.78.1.2");
    }
};

}  // namespace

TEST_CASE("xsk_socket: steered UDP datagrams arrive in user space, other ports reach the kernel") {
    BPFCO_REQUIRE_ROOT();
    bpfco::testing::fd_leak_check fds;
    two_namespaces net;
    auto obj = load_net_test();
    configure(obj, 0, steered_port);
    asio::io_context io;
    enter_netns in_m(net.m);
    xsk_options o;
    o.ring_size = 256;
    auto xsk = xsk_socket::create(io.get_executor(), "bpfco_net_a1", o).value();
    obj.map<xskmap>("xsks").value().insert(0, xsk).value();
    auto steer = obj.program("steer_xsk").value().attach_xdp("bpfco_net_a1", xdp_mode::generic).value();
    auto kernel_socket = bound_udp("10.78.1.2", steered_port + 1);

    constexpr int n = 64;
    {
        enter_netns in_a(net.a);
        auto s = udp_socket();
        for (int i = 0; i < n; ++i) {
            send_udp(s.get(), "10.78.1.2", steered_port, "frame " + std::to_string(i));
            send_udp(s.get(), "10.78.1.2", steered_port + 1, "kernel " + std::to_string(i));
        }
    }
    std::vector<std::string> payloads;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        while (payloads.size() < n) {
            auto batch = co_await xsk.async_receive(asio::use_awaitable);
            CHECK_FALSE(batch.empty());
            for (std::span<std::byte> frame : batch) {
                REQUIRE(frame.size() > 42);
                payloads.emplace_back(reinterpret_cast<const char*>(frame.data()) + 42, frame.size() - 42);
            }
        }
    }, asio::detached);
    io.run_for(5s);
    REQUIRE(payloads.size() == n);
    for (int i = 0; i < n; ++i) CHECK(payloads[i] == "frame " + std::to_string(i));
    auto kernel = drain(kernel_socket.get());
    REQUIRE(kernel.size() == n);
    CHECK(kernel.back() == "kernel " + std::to_string(n - 1));
    CHECK(xsk.statistics().value().rx_dropped == 0);

    // Per-operation cancellation: a receive that loses to a timer takes no frame; the next one
    // gets the frame sent afterwards.
    std::optional<std::size_t> winner;
    std::string late;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer timer(io, 50ms);
        auto r = co_await (xsk.async_receive(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
        winner = r.index();
        {
            enter_netns in_a(net.a);
            auto s = udp_socket();
            send_udp(s.get(), "10.78.1.2", steered_port, "after the timer");
        }
        auto batch = co_await xsk.async_receive(asio::use_awaitable);
        late.assign(reinterpret_cast<const char*>(batch[0].data()) + 42, batch[0].size() - 42);
    }, asio::detached);
    io.restart();
    io.run_for(5s);
    CHECK(winner == std::optional<std::size_t>(1));
    CHECK(late == "after the timer");
}

TEST_CASE("xsk_socket: a frame sent leaves on the interface; close aborts a pending receive") {
    BPFCO_REQUIRE_ROOT();
    bpfco::testing::fd_leak_check fds;
    two_namespaces net;
    asio::io_context io;
    unique_fd a_socket;
    {
        enter_netns in_a(net.a);
        a_socket = bound_udp("10.78.1.1", steered_port);
    }
    enter_netns in_m(net.m);
    auto xsk = xsk_socket::create(io.get_executor(), "bpfco_net_a1").value();
    auto frame = udp_frame("02:00:00:78:01:02", "02:00:00:78:01:01", "10.78.1.2", "10.78.1.1", 40000, steered_port,
                           "sent through AF_XDP");
    std::optional<boost::system::error_code> sent, received;
    xsk.async_send(frame, [&](boost::system::error_code ec, std::size_t bytes) {
        sent = ec;
        CHECK(bytes == frame.size());
    });
    xsk.async_receive([&](boost::system::error_code ec, xsk_batch b) {
        received = ec;
        CHECK(b.empty());
    });
    io.run_for(200ms);
    REQUIRE(sent);
    CHECK_FALSE(*sent);
    CHECK_FALSE(received);  // nothing steered here: still pending
    const std::vector<std::byte> too_large(5000);
    std::vector<boost::system::error_code> refused;
    xsk.async_send(std::span<const std::byte>{}, [&](boost::system::error_code ec, std::size_t) {
        refused.push_back(ec);
        xsk.async_send(too_large, [&](boost::system::error_code ec2, std::size_t) { refused.push_back(ec2); });
    });
    io.run_for(200ms);
    CHECK(refused == std::vector<boost::system::error_code>{asio::error::invalid_argument, asio::error::message_size});
    xsk.close();
    io.restart();
    io.run_for(1s);
    REQUIRE(received);
    CHECK(*received == asio::error::operation_aborted);
    std::vector<std::string> got;
    for (int i = 0; i < 100 && got.empty(); ++i, ::usleep(10'000)) got = drain(a_socket.get());
    REQUIRE(got.size() == 1);
    CHECK(got[0] == "sent through AF_XDP");
}

namespace {

unique_fd tcp_listener(std::uint16_t port) {
    unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(s);
    int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto sa = address("127.0.0.1", port);
    REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(s.get(), 4) == 0);
    return s;
}

/// A connected pair over loopback: {client, accepted}.
std::pair<unique_fd, unique_fd> tcp_connect(int listener, std::uint16_t port) {
    unique_fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(c);
    auto sa = address("127.0.0.1", port);
    REQUIRE(::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    unique_fd a(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(a);
    return {std::move(c), std::move(a)};
}

/// Reads exactly n bytes (waiting up to 2 s), or fewer when they do not come.
std::string read_n(int fd, std::size_t n) {
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
}

void write_all(int fd, std::string_view data) {
    REQUIRE(::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
}

}  // namespace

TEST_CASE("sockmap: an sk_skb splice moves exactly the bytes sent, both ways, in the kernel") {
    BPFCO_REQUIRE_ROOT();
    bpfco::testing::fd_leak_check fds;
    netns ns("bpfco_net_splice");
    enter_netns in(ns);
    constexpr std::uint16_t front = 47100, back = 47101;
    auto obj = load_net_test();
    configure(obj, 2, front);
    auto socks = obj.map<sockmap>("splice").value();
    auto verdict = obj.program("splice_verdict").value().attach_sockmap(socks.untyped()).value();

    auto front_listener = tcp_listener(front);
    auto back_listener = tcp_listener(back);
    auto [client, proxy_in] = tcp_connect(front_listener.get(), front);
    auto [proxy_out, backend] = tcp_connect(back_listener.get(), back);
    socks.insert(0, proxy_in.get()).value();
    socks.insert(1, proxy_out.get()).value();

    const std::string request(1000, 'q'), reply(500, 'r');
    write_all(client.get(), request);
    CHECK(read_n(backend.get(), request.size()) == request);
    write_all(backend.get(), reply);
    CHECK(read_n(client.get(), reply.size()) == reply);
    CHECK(count_at(obj, "spliced", 0) == request.size());
    CHECK(count_at(obj, "spliced", 1) == reply.size());
}

TEST_CASE("sockmap: sk_msg sees what a socket in the map sends; a wrong map or program is refused") {
    BPFCO_REQUIRE_ROOT();
    netns ns("bpfco_net_msg");
    enter_netns in(ns);
    constexpr std::uint16_t port = 47102;
    auto obj = load_net_test();
    auto socks = obj.map<sockmap>("splice").value();
    auto counter = obj.program("count_msg").value().attach_sockmap(socks.untyped()).value();
    auto listener = tcp_listener(port);
    auto [client, server] = tcp_connect(listener.get(), port);
    socks.insert(0, client.get()).value();
    write_all(client.get(), "twelve bytes");
    CHECK(read_n(server.get(), 12) == "twelve bytes");
    CHECK(count_at(obj, "counts", 1) == 12);
    // Detaching stops the program for sockets inserted afterwards (the kernel's sockmap
    // semantics: a socket keeps the programs it got when it was inserted).
    counter.detach();
    auto [client2, server2] = tcp_connect(listener.get(), port);
    socks.insert(1, client2.get()).value();
    write_all(client2.get(), "more");
    CHECK(read_n(server2.get(), 4) == "more");
    CHECK(count_at(obj, "counts", 1) == 12);

    auto not_sockmap = obj.program("count_msg").value().attach_sockmap(obj.map("counts").value());
    REQUIRE(not_sockmap.has_error());
    CHECK(not_sockmap.error().message.find("'counts'") != std::string::npos);
    auto not_socket_prog = obj.program("redirect_dev").value().attach_sockmap(socks.untyped());
    REQUIRE(not_socket_prog.has_error());
    CHECK(not_socket_prog.error().message.find("redirect_dev") != std::string::npos);
}

TEST_CASE("sock_ops: a cgroup link counts the TCP connections its cgroup makes and accepts") {
    BPFCO_REQUIRE_ROOT();
    const std::string root = "/sys/fs/cgroup/unified";
    if (run("test -f " + root + "/cgroup.procs") != 0) {
        bpfco::testing::skip("no cgroup v2 hierarchy at " + root);
        return;
    }
    const std::string own = bpfco::testing::output_of("sed -n 's/^0:://p' /proc/self/cgroup");
    const std::string cgroup = root + "/bpfco_net_sockops";
    run("rmdir " + cgroup + " 2>/dev/null");
    REQUIRE(run("mkdir " + cgroup) == 0);
    netns ns("bpfco_net_ops");
    enter_netns in(ns);
    constexpr std::uint16_t port = 47103;
    auto obj = load_net_test();
    {
        auto ops = obj.program("count_established").value().attach_cgroup(cgroup, bpfco::attach_type::cgroup_sock_ops).value();
        const std::string pid = std::to_string(::getpid());
        REQUIRE(run("echo " + pid + " > " + cgroup + "/cgroup.procs") == 0);
        {
            auto listener = tcp_listener(port);
            auto pair = tcp_connect(listener.get(), port);
        }
        run("echo " + pid + " > " + root + own.substr(0, own.find('\n')) + "/cgroup.procs");
    }
    CHECK(run("rmdir " + cgroup) == 0);
    CHECK(count_at(obj, "counts", 2) == 1);
    CHECK(count_at(obj, "counts", 3) == 1);
}

TEST_CASE("socket filter: drops what its program rejects on a real socket, until detached") {
    BPFCO_REQUIRE_ROOT();
    bpfco::testing::fd_leak_check fds;
    netns ns("bpfco_net_filter");
    enter_netns in(ns);
    constexpr std::uint16_t port = 47104;
    auto obj = load_net_test();
    auto receiver = bound_udp("127.0.0.1", port);
    auto sender = udp_socket();
    const std::string short_one(10, 's'), long_one(100, 'l');
    {
        auto filter = obj.program("short_only").value().attach_socket_filter(receiver.get()).value();
        CHECK(filter);
        for (int i = 0; i < 5; ++i) {
            send_udp(sender.get(), "127.0.0.1", port, short_one);
            send_udp(sender.get(), "127.0.0.1", port, long_one);
        }
        auto got = drain(receiver.get());
        CHECK(got == std::vector<std::string>(5, short_one));
    }
    send_udp(sender.get(), "127.0.0.1", port, long_one);
    CHECK(drain(receiver.get()) == std::vector<std::string>{long_one});

    auto wrong_program = obj.program("redirect_dev").value().attach_socket_filter(receiver.get());
    REQUIRE(wrong_program.has_error());
    CHECK(wrong_program.error().message.find("redirect_dev") != std::string::npos);
    CHECK(wrong_program.error().message.find("socket fd " + std::to_string(receiver.get())) != std::string::npos);
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    unique_fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    auto not_socket = obj.program("short_only").value().attach_socket_filter(read_end.get());
    REQUIRE(not_socket.has_error());
    CHECK(not_socket.error().message.find("not a socket") != std::string::npos);
}

TEST_CASE("sockhash: sockets under any key; a listening TCP socket goes in, an unbound UDP one does not") {
    BPFCO_REQUIRE_ROOT();
    bpfco::testing::fd_leak_check fds;
    netns ns("bpfco_net_hash");
    enter_netns in(ns);
    struct flow {
        std::uint32_t addr;
        std::uint16_t port, pad;
    };
    auto socks = sockhash<flow>::make(map::create(bpfco::map_type::sockhash, "bpfco_net_hash", sizeof(flow), 4, 8).value())
                     .value();
    auto listener = tcp_listener(47105);
    const flow key{htonl(INADDR_LOOPBACK), 47105, 0};
    socks.insert(key, listener.get()).value();
    auto again = socks.insert(key, listener.get(), update_flags::no_exist);
    REQUIRE(again.has_error());
    CHECK(again.error().message.find("no_exist") != std::string::npos);
    CHECK(socks.erase(key).value());
    CHECK_FALSE(socks.erase(key).value());
    auto udp = udp_socket();
    auto r = socks.insert(key, udp.get());
    REQUIRE(r.has_error());
    CHECK(r.error().message.find("bpfco_net_hash") != std::string::npos);
    CHECK_FALSE(sockhash<std::uint32_t>::make(socks.untyped().duplicate().value()).has_value());
}
