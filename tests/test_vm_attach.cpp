// Program kinds that need BPF trampolines (struct_ops, freplace), what the iterator hint claims
// about capabilities, and the attach paths older kernels take (netlink TC before tcx, sockmap
// without links before 6.10), measured on Debian's stock kernels in the vm suite (tests/vm/). On
// a kernel without trampolines (this project's host) the trampoline tests skip and say why; the
// same source is in the kernel suite to show that.
#include "support.hpp"

#include "freplace_test.bpf.skel.h"
#include "introspect_test.bpf.skel.h"
#include "net_test.bpf.skel.h"
#include "tcp_cc.bpf.skel.h"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {

std::string kernel_release() {
    utsname u{};
    ::uname(&u);
    return u.release;
}

bool have_trampolines(const char* what) {
    if (features::fentry()) return true;
    testing::skip(std::string("kernel ") + kernel_release() + " cannot run " + what +
                  " programs: they need BPF trampolines (features::fentry() is false): run the vm suite "
                  "(meson test --suite vm)");
    return false;
}

// The guest boots with lo down; on the host it is up already.
void loopback_up() {
    unique_fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(s);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    REQUIRE(::ioctl(s.get(), SIOCGIFFLAGS, &ifr) == 0);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    REQUIRE(::ioctl(s.get(), SIOCSIFFLAGS, &ifr) == 0);
}

// Sends `bytes` over a loopback TCP connection whose sender uses congestion control `cc`;
// returns the bytes received.
std::size_t transfer(const char* cc, std::size_t bytes) {
    unique_fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    REQUIRE(::listen(listener.get(), 1) == 0);

    unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(client);
    REQUIRE(::setsockopt(client.get(), IPPROTO_TCP, TCP_CONGESTION, cc, std::strlen(cc)) == 0);
    REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    unique_fd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(server);
    char used[16] = {};  // TCP_CA_NAME_MAX
    len = sizeof used;
    REQUIRE(::getsockopt(client.get(), IPPROTO_TCP, TCP_CONGESTION, used, &len) == 0);
    CHECK(std::string(used) == cc);

    std::thread sender([&] {
        std::vector<char> chunk(64 * 1024, 'x');
        for (std::size_t sent = 0; sent < bytes;) {
            const auto n = ::send(client.get(), chunk.data(), std::min(chunk.size(), bytes - sent), MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        ::shutdown(client.get(), SHUT_WR);
    });
    std::size_t received = 0;
    std::vector<char> buf(64 * 1024);
    for (ssize_t n; (n = ::recv(server.get(), buf.data(), buf.size(), 0)) > 0;) received += static_cast<std::size_t>(n);
    sender.join();
    return received;
}

// (major, minor) of the running kernel.
std::pair<int, int> kernel_version() {
    int major = 0, minor = 0;
    std::sscanf(kernel_release().c_str(), "%d.%d", &major, &minor);
    return {major, minor};
}

// Runs `body` on a thread of its own in a new network namespace with lo up: no other traffic, and
// nothing of the machine's touched.
template <class Body>
void in_new_netns(Body body) {
    std::thread t([&] {
        REQUIRE(::unshare(CLONE_NEWNET) == 0);
        loopback_up();
        body();
    });
    t.join();
}

unique_fd udp_socket() {
    unique_fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(s);
    return s;
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    return addr;
}

void send_datagrams(int n, std::uint16_t port) {
    auto s = udp_socket();
    const auto to = loopback(port);
    for (int i = 0; i < n; ++i)
        REQUIRE(::sendto(s.get(), "x", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 1);
}

std::uint64_t count_of(const object& obj, std::string_view map, std::uint32_t key) {
    return obj.map<array<std::uint64_t>>(map).value().lookup(key).value().value_or(0);
}

// A connected pair of TCP sockets over lo: (client, accepted).
std::pair<unique_fd, unique_fd> tcp_pair(int listener, std::uint16_t port) {
    unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(client);
    const auto to = loopback(port);
    REQUIRE(::connect(client.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
    unique_fd server(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(server);
    return {std::move(client), std::move(server)};
}

unique_fd tcp_listener(std::uint16_t port) {
    unique_fd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(l);
    const auto at = loopback(port);
    REQUIRE(::bind(l.get(), reinterpret_cast<const sockaddr*>(&at), sizeof at) == 0);
    REQUIRE(::listen(l.get(), 4) == 0);
    return l;
}

std::string read_n(int fd, std::size_t n) {
    std::string out(n, '\0');
    for (std::size_t got = 0; got < n;) {
        const auto r = ::recv(fd, out.data() + got, n - got, 0);
        REQUIRE(r > 0);
        got += static_cast<std::size_t>(r);
    }
    return out;
}

std::uint32_t run_xdp(const program& prog) {
    static const std::byte packet[64] = {};
    test_run_options o;
    o.data_in = packet;
    return test_run(prog, o).value().return_value;
}

// Whether this process, in a child that dropped CAP_SYS_RESOURCE from its bounding, effective,
// permitted and inheritable sets, can load a minimal iter/bpf_map_elem program; the probe's
// answer ("" when it loads) comes back through a pipe.
std::string iterator_refusal_without_sys_resource() {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(p[0]);
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2] = {};
        const std::uint32_t bit = 1u << (CAP_SYS_RESOURCE % 32);
        std::string answer;
        if (::prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0) != 0 || ::syscall(SYS_capget, &header, data) != 0) {
            answer = std::string("cannot drop CAP_SYS_RESOURCE: ") + std::strerror(errno);
        } else {
            auto& d = data[CAP_SYS_RESOURCE / 32];
            d.effective &= ~bit;
            d.permitted &= ~bit;
            d.inheritable &= ~bit;
            if (::syscall(SYS_capset, &header, data) != 0)
                answer = std::string("cannot drop CAP_SYS_RESOURCE: ") + std::strerror(errno);
            else
                answer = "probe: " + features::iterator_refusal("bpf_map_elem");
        }
        (void)!::write(p[1], answer.data(), answer.size());
        ::_exit(0);
    }
    ::close(p[1]);
    std::string answer;
    char buf[512];
    for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
    ::close(p[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(answer.starts_with("probe: "));
    return answer.substr(7);
}

}  // namespace

TEST_CASE("struct_ops: a TCP congestion control in BPF carries a loopback connection, and unregisters") {
    BPFCO_REQUIRE_ROOT();
    if (!have_trampolines("struct_ops")) return;
    loopback_up();
    auto obj = object::load_memory("tcp_cc", elf_of(tcp_cc_bpf__elf_bytes)).value();
    auto callbacks = obj.global<std::uint64_t>("callbacks").value();
    constexpr std::size_t bytes = 8 << 20;
    {
        auto link = obj.attach_struct_ops("bpfco_reno").value();
        auto again = obj.attach_struct_ops("bpfco_reno");
        REQUIRE(again.has_error());
        MESSAGE(again.error().message);
        CHECK(again.error().code == std::errc::device_or_resource_busy);
        auto other = object::load_memory("tcp_cc", elf_of(tcp_cc_bpf__elf_bytes)).value();
        auto same_name = other.attach_struct_ops("bpfco_reno");
        REQUIRE(same_name.has_error());
        MESSAGE(same_name.error().message);
        CHECK(same_name.error().code == std::errc::file_exists);
        CHECK(transfer("bpfco_reno", bytes) == bytes);
        std::printf("BPFCO-VM-CHECK: struct_ops bpfco_reno on %s: %zu bytes, %llu callbacks\n",
                    kernel_release().c_str(), bytes, static_cast<unsigned long long>(callbacks.load()));
        std::fflush(stdout);
        CHECK(callbacks.load() > 0);
    }
    // Unregistered with the link: a socket can no longer choose it.
    unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    CHECK(::setsockopt(s.get(), IPPROTO_TCP, TCP_CONGESTION, "bpfco_reno", 10) == -1);
    CHECK(errno == ENOENT);
    auto wrong = obj.attach_struct_ops("tcp_cc.bss");  // a map, not a struct_ops one
    REQUIRE(wrong.has_error());
    CHECK(wrong.error().code == std::errc::invalid_argument);
}

TEST_CASE("freplace: a global function replaced in a loaded program, and restored on detach") {
    BPFCO_REQUIRE_ROOT();
    if (!have_trampolines("freplace")) return;
    auto target_obj = object::open_memory("freplace_target", elf_of(freplace_test_bpf__elf_bytes)).value();
    target_obj.program("drop_instead").value().set_autoload(false).value();
    target_obj.load().value();
    auto target = target_obj.program("freplace_target").value();

    auto ext_obj = object::open_memory("freplace_ext", elf_of(freplace_test_bpf__elf_bytes)).value();
    ext_obj.program("freplace_target").value().set_autoload(false).value();
    auto ext = ext_obj.program("drop_instead").value();
    ext.set_freplace_target(target, "verdict").value();
    ext_obj.load().value();

    constexpr std::uint32_t xdp_drop = 1, xdp_pass = 2;
    CHECK(run_xdp(target) == xdp_pass);
    {
        auto link = ext.attach_freplace(target, "verdict").value();
        CHECK(run_xdp(target) == xdp_drop);
    }
    CHECK(run_xdp(target) == xdp_pass);

    // The same target re-opened from its pin.
    const std::string pin = "/sys/fs/bpf/bpfco_freplace_target";
    (void)unpin(pin);
    target.pin(pin).value();
    auto pinned = pinned_program::from_pinned(pin, program_type::xdp).value();
    {
        auto link = ext.attach_freplace(pinned, "verdict").value();
        CHECK(run_xdp(target) == xdp_drop);
    }
    CHECK(run_xdp(target) == xdp_pass);
    unpin(pin).value();
    std::printf("BPFCO-VM-CHECK: freplace on %s: pass, drop while attached, pass after\n", kernel_release().c_str());
    std::fflush(stdout);
}

TEST_CASE("map-element iterators with and without CAP_SYS_RESOURCE") {
    BPFCO_REQUIRE_ROOT();
    const auto with = features::iterator_refusal("bpf_map_elem");
    const auto without = iterator_refusal_without_sys_resource();
    std::printf("BPFCO-VM-CHECK: iter/bpf_map_elem on %s: this process: %s; without CAP_SYS_RESOURCE: %s\n",
                kernel_release().c_str(), with.empty() ? "loads" : with.c_str(),
                without.empty() ? "loads" : without.c_str());
    std::fflush(stdout);
    if (!with.empty()) {
        testing::skip("this kernel refuses map-element iterators to this process already: " + with);
        return;
    }
    // On the stock kernels the capability is not what decides.
    CHECK(without.empty());
}

TEST_CASE("program_sampler's iterator reads the run counts the kernel's info call reports") {
    BPFCO_REQUIRE_ROOT();
    auto stats = run_time_stats::enable().value();
    program_sampler sampler;
    // Its per-CPU reading (bpf/prog_iter.bpf.c) depends on the verifier of each kernel: the stock
    // ones must take it, or every snapshot costs four bpf() calls per program.
    std::printf("BPFCO-VM-CHECK: program_sampler on %s: %s\n", kernel_release().c_str(),
                sampler.uses_iterator() ? "iterator" : "by id (the iterator did not load)");
    std::fflush(stdout);
    if (const auto refusal = features::iterator_refusal("bpf_prog"); !refusal.empty()) {
        testing::skip("this kernel refuses program iterators: " + refusal);
        return;
    }
    REQUIRE(sampler.uses_iterator());
    auto obj = object::load_memory("introspect_test", elf_of(introspect_test_bpf__elf_bytes)).value();
    const auto prog = obj.program("introspect_xdp").value();
    static const std::byte packet[64] = {};
    test_run_options o;
    o.data_in = packet;
    o.repeat = 1234;
    test_run(prog, o).value();
    const auto snapshot = sampler.sample().value();
    const auto info = program_info_of(prog).value();
    auto it = std::find_if(snapshot.appeared.begin(), snapshot.appeared.end(),
                           [&](const auto& p) { return p.id == info.id; });
    REQUIRE(it != snapshot.appeared.end());
    CHECK(it->run_count == 1234);
    CHECK(it->run_count == info.run_count);
    CHECK(it->run_time == info.run_time);
    CHECK(it->run_time.count() > 0);
}

TEST_CASE("TC through netlink (the path before tcx) counts loopback packets until detached") {
    BPFCO_REQUIRE_ROOT();
    auto obj = object::load_memory("introspect_test", elf_of(introspect_test_bpf__elf_bytes)).value();
    auto prog = obj.program("introspect_tc").value();
    in_new_netns([&] {
        auto tcx = prog.attach_tcx("lo", tc_direction::ingress);
        const bool before_tcx = kernel_version() < std::pair{6, 6};
        std::printf("BPFCO-VM-CHECK: tcx on %s: %s\n", kernel_release().c_str(),
                    tcx ? "attached" : tcx.error().message.c_str());
        CHECK(tcx.has_error() == before_tcx);
        if (tcx) tcx.value().detach();

        constexpr int n = 50;
        auto receiver = udp_socket();  // bound, so that no ICMP answers add packets
        const auto at = loopback(47200);
        REQUIRE(::bind(receiver.get(), reinterpret_cast<const sockaddr*>(&at), sizeof at) == 0);
        {
            auto attached = prog.attach_tc("lo", tc_direction::ingress);
            if (!attached && attached.error().code == std::errc::no_such_file_or_directory &&
                attached.error().message.find("clsact") != std::string::npos) {
                testing::skip("kernel " + kernel_release() + " has no clsact qdisc (sch_ingress neither built in nor "
                              "loaded; run-vm.sh loads it from the kernel's package): " + attached.error().message);
                return;
            }
            auto link = std::move(attached).value();
            CHECK(link.fd() == -1);  // a netlink filter: no link fd
            send_datagrams(n, 47200);
            std::printf("BPFCO-VM-CHECK: netlink TC ingress on lo on %s: counted %llu of %d\n",
                        kernel_release().c_str(), static_cast<unsigned long long>(count_of(obj, "tc_runs", 0)), n);
            std::fflush(stdout);
            CHECK(count_of(obj, "tc_runs", 0) == n);
        }
        send_datagrams(n, 47200);  // detached: no longer counted
        CHECK(count_of(obj, "tc_runs", 0) == n);
    });
}

TEST_CASE("sockmap: an sk_skb splice over lo, through a link from 6.10 and bpf_prog_attach before") {
    BPFCO_REQUIRE_ROOT();
    auto obj = object::load_memory("net_test", elf_of(net_test_bpf__elf_bytes)).value();
    constexpr std::uint16_t front = 47100, back = 47101;
    constexpr std::uint32_t config_splice_port = 2;
    obj.map<array<std::uint32_t>>("settings").value().insert(config_splice_port, front).value();
    auto socks = obj.map<sockmap>("splice").value();
    in_new_netns([&] {
        auto verdict = obj.program("splice_verdict").value().attach_sockmap(socks.untyped()).value();
        const bool has_links = kernel_version() >= std::pair{6, 10};
        std::printf("BPFCO-VM-CHECK: sockmap attach on %s: %s\n", kernel_release().c_str(),
                    verdict.fd() >= 0 ? "kernel link" : "bpf_prog_attach");
        CHECK((verdict.fd() >= 0) == has_links);

        auto front_listener = tcp_listener(front);
        auto back_listener = tcp_listener(back);
        auto [client, proxy_in] = tcp_pair(front_listener.get(), front);
        auto [proxy_out, backend] = tcp_pair(back_listener.get(), back);
        socks.insert(0, proxy_in.get()).value();
        socks.insert(1, proxy_out.get()).value();
        const std::string request(1000, 'q'), reply(500, 'r');
        REQUIRE(::send(client.get(), request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size()));
        CHECK(read_n(backend.get(), request.size()) == request);
        REQUIRE(::send(backend.get(), reply.data(), reply.size(), MSG_NOSIGNAL) == ssize_t(reply.size()));
        CHECK(read_n(client.get(), reply.size()) == reply);
        CHECK(count_of(obj, "spliced", 0) == request.size());
        CHECK(count_of(obj, "spliced", 1) == reply.size());
        socks.erase(0).value();
        socks.erase(1).value();
    });
}
