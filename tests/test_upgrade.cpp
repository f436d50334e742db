// Upgrades without dropping traffic (issue 13): every kind of link, pinning and re-opening,
// link update, batch writes, maps of maps. Real programs in the real kernel; every netns, veth
// and bpffs path carries the prefix bpfco_up_ and is removed by the test that made it.
#include "support.hpp"

#include "upgrade_test.bpf.skel.h"

#include <bpf/bpf.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {

object load_upgrade_test() {
    return object::load_memory("upgrade_test", elf_of(upgrade_test_bpf__elf_bytes)).value();
}

unique_fd dup_fd(int fd) { return unique_fd(::fcntl(fd, F_DUPFD_CLOEXEC, 0)); }

// The programs the kernel lists at (target, type) for bpf_prog_attach attachments.
std::uint32_t attached_count(int target, bpf_attach_type type) {
    std::uint32_t ids[8] = {}, count = 8, flags = 0;
    REQUIRE(bpf_prog_query(target, type, 0, &flags, ids, &count) == 0);
    return count;
}

// A UDP socket on 127.0.0.1 with an ephemeral port, and that port.
std::pair<unique_fd, std::uint16_t> udp_on_loopback() {
    unique_fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(s);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t n = sizeof a;
    REQUIRE(::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &n) == 0);
    return {std::move(s), ntohs(a.sin_port)};
}

bool delivered(int receiver, std::uint16_t port) {
    unique_fd tx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char byte = 'x';
    REQUIRE(::sendto(tx.get(), &byte, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 1);
    // Loopback delivers synchronously within sendto: nothing queued now means it was dropped.
    return ::recv(receiver, &byte, 1, MSG_DONTWAIT) == 1;
}

}  // namespace

TEST_CASE("an empty link: every member answers, none crashes") {
    auto check_empty = [](bpfco::link& l) {
        CHECK_FALSE(l);
        CHECK(l.fd() == -1);
        auto p = l.pin("/sys/fs/bpf/bpfco_up_never");
        REQUIRE_FALSE(p);
        CHECK(p.error().code.value() == EBADF);
        CHECK(p.error().message.find("empty") != std::string::npos);
        l.detach();
        l.detach();
    };
    bpfco::link empty;
    check_empty(empty);
    bpfco::link moved_to = std::move(empty);
    check_empty(moved_to);
    check_empty(empty);  // NOLINT(bugprone-use-after-move): the documented moved-from state
    CHECK_FALSE(bpfco::link::from_socket_filter(unique_fd()));
    CHECK_FALSE(bpfco::link::from_prog_attach(unique_fd(), unique_fd(), 0));
}

TEST_CASE("a bpf_prog_attach link detaches its program from the sockmap") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_upgrade_test();
    auto sockmap = obj.map("up_sockmap").value();
    auto prog = obj.program("up_stream_verdict").value();
    REQUIRE(bpf_prog_attach(prog.fd(), sockmap.fd(), BPF_SK_SKB_STREAM_VERDICT, 0) == 0);
    auto l = bpfco::link::from_prog_attach(dup_fd(sockmap.fd()), dup_fd(prog.fd()), BPF_SK_SKB_STREAM_VERDICT);
    REQUIRE(l);
    CHECK(l.fd() == -1);
    CHECK(attached_count(sockmap.fd(), BPF_SK_SKB_STREAM_VERDICT) == 1);
    auto p = l.pin("/sys/fs/bpf/bpfco_up_prog_attach");
    REQUIRE_FALSE(p);
    CHECK(p.error().code.value() == EOPNOTSUPP);
    bpfco::link moved = std::move(l);
    CHECK(attached_count(sockmap.fd(), BPF_SK_SKB_STREAM_VERDICT) == 1);
    moved.detach();
    CHECK(attached_count(sockmap.fd(), BPF_SK_SKB_STREAM_VERDICT) == 0);
}

TEST_CASE("a socket filter link drops while attached and detaches with SO_DETACH_BPF") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_upgrade_test();
    auto [rx, port] = udp_on_loopback();
    CHECK(delivered(rx.get(), port));
    int prog_fd = obj.program("up_drop_all").value().fd();
    REQUIRE(::setsockopt(rx.get(), SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof prog_fd) == 0);
    {
        auto l = bpfco::link::from_socket_filter(dup_fd(rx.get()));
        REQUIRE(l);
        CHECK_FALSE(delivered(rx.get(), port));
        CHECK_FALSE(l.pin("/sys/fs/bpf/bpfco_up_socket_filter"));
    }
    CHECK(delivered(rx.get(), port));
}
