// AF_XDP receive rate against a plain UDP socket receiving the same datagrams, same run.
// Two namespaces joined by a veth pair (bpfco_net_b*, made and removed here); a sender thread in
// one blasts 64-byte UDP datagrams (sendmmsg) at the other, where the same XDP program is attached
// (generic mode) in both phases: with the AF_XDP socket in its xskmap the frames go to the
// xsk_socket (co_await async_receive, batches), without it they pass to the kernel's UDP socket
// (recvmmsg, 64 per call, a receive buffer sized like the AF_XDP ring). Each round sends the same number of datagrams; a phase's rate is the
// datagrams received between its first and last arrival. Drops (socket buffer, AF_XDP ring) are
// printed beside. Prints `RESULT` and `RATIO xsk_vs_udp_socket_rx` (median over rounds).
//   xsk_bench [DATAGRAMS_PER_ROUND] [ROUNDS]
#include "bench_common.hpp"
#include "net_test.bpf.skel.h"

#include <bpfco/bpfco.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t port = 47300;
const char* const ns_send = "bpfco_net_bsend";
const char* const ns_recv = "bpfco_net_brecv";

void sh(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) {
        std::fprintf(stderr, "xsk_bench: failed: %s\n", cmd.c_str());
        std::exit(1);
    }
}

struct topology {
    topology() {
        remove();
        sh(std::string("ip netns add ") + ns_send + " && ip netns add " + ns_recv);
        sh(std::string("ip -n ") + ns_send + " link add bpfco_net_bs address 02:00:00:80:01:01 type veth peer name "
           "bpfco_net_br address 02:00:00:80:01:02 netns " + ns_recv);
        sh(std::string("ip -n ") + ns_send + " addr add 10.80.1.1/24 dev bpfco_net_bs && ip -n " + ns_send +
           " link set bpfco_net_bs up && ip -n " + ns_send + " neigh replace 10.80.1.2 lladdr 02:00:00:80:01:02 dev "
           "bpfco_net_bs");
        sh(std::string("ip -n ") + ns_recv + " addr add 10.80.1.2/24 dev bpfco_net_br && ip -n " + ns_recv +
           " link set bpfco_net_br up");
    }
    ~topology() { remove(); }
    static void remove() {
        std::system((std::string("ip netns del ") + ns_send + " 2>/dev/null; ip netns del " + ns_recv +
                     " 2>/dev/null").c_str());
    }
};

void enter(const char* ns) {
    bpfco::unique_fd fd(::open((std::string("/run/netns/") + ns).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd || ::setns(fd.get(), CLONE_NEWNET) != 0) {
        std::perror("setns");
        std::exit(1);
    }
}

void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
}

double now_s() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/// Sends `n` datagrams from the sender namespace on its own thread (pinned to CPU 1).
std::thread start_sender(std::uint64_t n) {
    return std::thread([n] {
        pin(1);
        enter(ns_send);
        bpfco::unique_fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        ::inet_pton(AF_INET, "10.80.1.2", &to.sin_addr);
        char payload[64] = "bpfco xsk bench";
        constexpr unsigned burst = 64;
        iovec iov{payload, sizeof payload};
        std::vector<mmsghdr> msgs(burst);
        for (auto& m : msgs) {
            m.msg_hdr.msg_name = &to;
            m.msg_hdr.msg_namelen = sizeof to;
            m.msg_hdr.msg_iov = &iov;
            m.msg_hdr.msg_iovlen = 1;
        }
        for (std::uint64_t sent = 0; sent < n;) {
            int r = ::sendmmsg(s.get(), msgs.data(), static_cast<unsigned>(std::min<std::uint64_t>(burst, n - sent)), 0);
            if (r > 0) sent += static_cast<std::uint64_t>(r);
        }
    });
}

struct phase {
    std::uint64_t received = 0, dropped = 0;
    double seconds = 0;
    double rate() const { return seconds > 0 ? received / seconds : 0; }
};

// Ends when the sender is done and nothing arrived for 200 ms.
phase xsk_round(const bpfco::object& obj, std::uint64_t n) {
    asio::io_context io;
    bpfco::xsk_options o;
    o.ring_size = 2048;
    auto xsk = bpfco::xsk_socket::create(io.get_executor(), "bpfco_net_br", o).value();
    auto slots = obj.map<bpfco::xskmap>("xsks").value();
    slots.insert(0, xsk).value();
    phase p;
    double first = 0, last = 0;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        for (;;) {
            auto [ec, batch] = co_await xsk.async_receive(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            last = now_s();
            if (p.received == 0) first = last;
            p.received += batch.size();
        }
    }, asio::detached);
    std::atomic<bool> done = false;
    auto sender = start_sender(n);
    std::thread joiner([&] {
        sender.join();
        done = true;
    });
    asio::steady_timer quiet(io);
    std::uint64_t seen = ~0ull;
    std::function<void()> check = [&] {
        quiet.expires_after(200ms);
        quiet.async_wait([&](boost::system::error_code) {
            if (done && seen == p.received) return xsk.close();
            seen = p.received;
            check();
        });
    };
    check();
    io.run();
    joiner.join();
    slots.erase(0).value();
    auto st = xsk.statistics().value();
    p.dropped = st.rx_dropped + st.rx_ring_full;
    p.seconds = last - first;
    return p;
}

std::uint64_t udp_rcvbuf_errors() {
    FILE* f = std::fopen("/proc/net/snmp", "r");  // of this thread's namespace
    char line[1024];
    std::uint64_t v = 0;
    bool next_is_udp = false;
    while (f && std::fgets(line, sizeof line, f)) {
        if (std::string(line).rfind("Udp: ", 0) != 0) continue;
        if (!next_is_udp) {
            next_is_udp = true;
            continue;
        }
        unsigned long long fields[8] = {};
        std::sscanf(line, "Udp: %llu %llu %llu %llu %llu %llu", &fields[0], &fields[1], &fields[2], &fields[3],
                    &fields[4], &fields[5]);
        v = fields[4];  // RcvbufErrors
        break;
    }
    if (f) std::fclose(f);
    return v;
}

phase udp_round(std::uint64_t n) {
    bpfco::unique_fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(port);
    ::inet_pton(AF_INET, "10.80.1.2", &at.sin_addr);
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
        std::perror("bind");
        std::exit(1);
    }
    // Room for as many datagrams as the AF_XDP ring holds frames (2048; a 64-byte datagram costs
    // about 1 KiB of receive buffer, and the kernel doubles what is asked), so neither side wins
    // by buffering more.
    const int rcvbuf = 2048 * 1024 / 2;
    ::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    timeval tv{0, 200'000};  // the same 200 ms quiet period ends the phase
    ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::uint64_t errors_before = udp_rcvbuf_errors();
    constexpr unsigned burst = 64;
    std::vector<std::array<char, 2048>> bufs(burst);
    std::vector<iovec> iovs(burst);
    std::vector<mmsghdr> msgs(burst);
    for (unsigned i = 0; i < burst; ++i) {
        iovs[i] = {bufs[i].data(), bufs[i].size()};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    phase p;
    double first = 0, last = 0;
    std::atomic<bool> done = false;
    auto sender = start_sender(n);
    std::thread joiner([&] {
        sender.join();
        done = true;
    });
    for (;;) {
        int r = ::recvmmsg(s.get(), msgs.data(), burst, 0, nullptr);
        if (r > 0) {
            last = now_s();
            if (p.received == 0) first = last;
            p.received += static_cast<std::uint64_t>(r);
        } else if (done) {
            break;
        }
    }
    joiner.join();
    p.dropped = udp_rcvbuf_errors() - errors_before;
    p.seconds = last - first;
    return p;
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 500'000;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    if (::geteuid() != 0) {
        std::printf("SKIPPED: xsk_bench needs root\n");
        return 77;
    }
    bench::print_machine_facts();
    topology net;
    pin(0);
    enter(ns_recv);
    auto obj = bpfco::object::load_skeleton("net_test", net_test_bpf__elf_bytes).value();
    obj.map<bpfco::array<std::uint32_t>>("settings").value().insert(0, port).value();
    auto link = obj.program("steer_xsk").value().attach_xdp("bpfco_net_br", bpfco::xdp_mode::generic).value();

    std::vector<double> ratios, udp_rates, xsk_rates;
    for (int r = 0; r < rounds; ++r) {
        const phase u = udp_round(n);
        const phase x = xsk_round(obj, n);
        std::printf("round %d: udp %.0f/s (%llu received, %llu dropped), xsk %.0f/s (%llu received, %llu dropped)\n",
                    r + 1, u.rate(), static_cast<unsigned long long>(u.received),
                    static_cast<unsigned long long>(u.dropped), x.rate(), static_cast<unsigned long long>(x.received),
                    static_cast<unsigned long long>(x.dropped));
        std::fflush(stdout);
        udp_rates.push_back(u.rate());
        xsk_rates.push_back(x.rate());
        ratios.push_back(x.rate() / u.rate());
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::printf("RESULT udp_socket_rx %.4g datagrams/s\nRESULT xsk_rx %.4g frames/s\n", median(udp_rates),
                median(xsk_rates));
    std::printf("RATIO xsk_vs_udp_socket_rx %.3f\n", median(ratios));
    return 0;
}
