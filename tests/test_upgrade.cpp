// Upgrades without dropping traffic (issue 13): every kind of link, pinning and re-opening,
// link update, batch writes, maps of maps. Real programs in the real kernel; every netns, veth
// and bpffs path carries the prefix bpfco_up_ and is removed by the test that made it.
#include "internal/link_access.hpp"
#include "support.hpp"

#include "upgrade_test.bpf.skel.h"

#include <bpf/bpf.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

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

// Enters a named network namespace for the scope of the object (this thread only).
class netns_scope {
public:
    explicit netns_scope(const std::string& name) : home_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
        unique_fd ns(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
        REQUIRE_MESSAGE(bool(ns), "cannot open netns ", name);
        REQUIRE_MESSAGE(::setns(ns.get(), CLONE_NEWNET) == 0, "setns ", name, ": ", std::strerror(errno));
    }
    ~netns_scope() {
        if (::setns(home_.get(), CLONE_NEWNET) != 0) std::abort();  // never carry on in the wrong namespace
    }
    netns_scope(const netns_scope&) = delete;
    netns_scope& operator=(const netns_scope&) = delete;

private:
    unique_fd home_;
};

constexpr std::uint16_t up_port = 4077;  // UP_PORT in bpf/upgrade_test.bpf.c

// Namespaces a (10.252.0.1) and b (10.252.0.2) joined by a veth pair, all named bpfco_up_*/bup*
// and the pid; the destructor deletes both namespaces and with them the pair.
struct veth_pair {
    std::string ns_a, ns_b, if_a, if_b;
    veth_pair() {
        auto pid = std::to_string(::getpid());
        ns_a = "bpfco_up_a_" + pid;
        ns_b = "bpfco_up_b_" + pid;
        if_a = "bupa" + pid;
        if_b = "bupb" + pid;
        remove();
        int r = testing::run("set -e; ip netns add " + ns_a + "; ip netns add " + ns_b + "; ip link add " + if_a +
                             " netns " + ns_a + " type veth peer name " + if_b + " netns " + ns_b + "; ip -n " + ns_a +
                             " addr add 10.252.0.1/30 dev " + if_a + "; ip -n " + ns_b + " addr add 10.252.0.2/30 dev " +
                             if_b + "; ip -n " + ns_a + " link set " + if_a + " up; ip -n " + ns_b + " link set " + if_b +
                             " up");
        REQUIRE_MESSAGE(r == 0, "cannot create the veth pair between namespaces");
    }
    ~veth_pair() { remove(); }
    veth_pair(const veth_pair&) = delete;
    veth_pair& operator=(const veth_pair&) = delete;
    void remove() const { testing::run("ip netns del " + ns_a + " 2>/dev/null; ip netns del " + ns_b + " 2>/dev/null"); }

    // Sends n UDP datagrams from a to b:up_port, paced so that the peer's XDP ring (256 frames)
    // never overflows even when its NAPI poll runs late on a loaded machine;
    // returns how many the kernel accepted.
    int send(int n) const {
        unique_fd s;
        {
            netns_scope in(ns_a);
            s.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        }
        REQUIRE(s);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(up_port);
        ::inet_pton(AF_INET, "10.252.0.2", &to.sin_addr);
        int sent = 0;
        for (int i = 0; i < n; ++i) {
            if (::sendto(s.get(), "bpfco_up", 8, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 8) ++sent;
            if (i % 16 == 15) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        return sent;
    }
};

std::uint64_t counted(const array<std::uint64_t>& a, std::uint32_t slot) { return a.lookup(slot).value().value_or(0); }

// Removes the given bpffs paths at scope exit, whatever the test did.
struct unpin_at_exit {
    std::vector<std::string> paths;
    ~unpin_at_exit() {
        for (auto& p : paths) ::unlink(p.c_str());
    }
};

}  // namespace

TEST_CASE("an empty link: every member answers, none crashes") {
    auto check_empty = [](bpfco::link& l) {
        CHECK_FALSE(l);
        CHECK(l.fd() == -1);
        auto p = l.pin("/sys/fs/bpf/bpfco_up_never");
        REQUIRE_FALSE(p);
        CHECK(p.error().code.value() == EBADF);
        CHECK(p.error().message.find("empty") != std::string::npos);
        CHECK(l.update(program()).error().code.value() == EBADF);
        CHECK(l.update(program(), program()).error().code.value() == EBADF);
        l.detach();
        l.detach();
    };
    bpfco::link empty;
    check_empty(empty);
    bpfco::link moved_to = std::move(empty);
    check_empty(moved_to);
    check_empty(empty);  // NOLINT(bugprone-use-after-move): the documented moved-from state
    CHECK_FALSE(detail::link_access::from_socket_filter(unique_fd()));
    CHECK_FALSE(detail::link_access::from_prog_attach(unique_fd(), unique_fd(), attach_type::sk_skb_stream_verdict));
}

TEST_CASE("a bpf_prog_attach link detaches its program from the sockmap") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_upgrade_test();
    auto sockmap = obj.map("up_sockmap").value();
    auto prog = obj.program("up_stream_verdict").value();
    REQUIRE(bpf_prog_attach(prog.fd(), sockmap.fd(), BPF_SK_SKB_STREAM_VERDICT, 0) == 0);
    auto l = detail::link_access::from_prog_attach(dup_fd(sockmap.fd()), dup_fd(prog.fd()),
                                                   attach_type::sk_skb_stream_verdict);
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
        auto l = detail::link_access::from_socket_filter(dup_fd(rx.get()));
        REQUIRE(l);
        CHECK_FALSE(delivered(rx.get(), port));
        CHECK_FALSE(l.pin("/sys/fs/bpf/bpfco_up_socket_filter"));
    }
    CHECK(delivered(rx.get(), port));
}

TEST_CASE("pin and re-open links, maps and programs: kinds checked, unpin removes, nothing left") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    veth_pair net;
    auto base = "/sys/fs/bpf/bpfco_up_" + std::to_string(::getpid());
    const std::string link_pin = base + "_link", map_pin = base + "_map", prog_pin = base + "_prog";
    unpin_at_exit cleanup{{link_pin, map_pin, prog_pin}};
    testing::kernel_ids made;
    {
        auto obj = load_upgrade_test();
        auto prog_a = obj.program("up_xdp_a").value();
        {
            netns_scope in_b(net.ns_b);
            auto l = prog_a.attach_xdp(net.if_b).value();
            l.pin(link_pin).value();
        }
        obj.map("up_counted").value().pin(map_pin).value();
        prog_a.pin(prog_pin).value();
        made = testing::own_ids();
    }
    // The object and every handle are gone: the pins hold the link, its program and the map.
    auto counts = array<std::uint64_t>::from_pinned(map_pin).value();
    CHECK(net.send(100) == 100);
    CHECK(counted(counts, 0) == 100);

    auto l = bpfco::link::from_pinned(link_pin, bpfco::link_type::xdp).value();
    CHECK(l.fd() >= 0);
    auto prog = pinned_program::from_pinned(prog_pin, bpfco::program_type::xdp).value();
    CHECK(prog.name() == "up_xdp_a");

    auto contains = [](const auto& r, std::initializer_list<std::string_view> words) {
        REQUIRE_FALSE(r);
        MESSAGE(r.error().message);
        for (auto w : words) CHECK_MESSAGE(r.error().message.find(w) != std::string::npos, "missing '", w, "'");
    };
    contains(bpfco::link::from_pinned(link_pin, bpfco::link_type::cgroup), {link_pin, "xdp", "cgroup"});
    contains(bpfco::link::from_pinned(map_pin, bpfco::link_type::xdp), {map_pin, "map", "not a link"});
    contains(array<std::uint32_t>::from_pinned(map_pin), {map_pin, "value size 8", "value size 4"});
    contains(hash_map<std::uint32_t, std::uint64_t>::from_pinned(map_pin), {map_pin, "array", "hash"});
    contains(array<std::uint64_t>::from_pinned(link_pin), {link_pin, "link", "not a map"});
    contains(pinned_program::from_pinned(prog_pin, bpfco::program_type::socket_filter), {prog_pin, "xdp", "socket_filter"});
    contains(pinned_program::from_pinned(map_pin, bpfco::program_type::xdp), {map_pin, "not a program"});
    contains(array<std::uint64_t>::from_pinned(base + "_absent"), {base + "_absent", "No such file"});

    // Dropping a re-opened link leaves the pinned attachment alone.
    l.detach();
    CHECK(net.send(50) == 50);
    CHECK(counted(counts, 0) == 150);

    for (auto& p : {link_pin, map_pin, prog_pin}) {
        unpin(p).value();
        CHECK(::access(p.c_str(), F_OK) != 0);
    }
    contains(unpin(link_pin), {link_pin, "No such file"});
    contains(unpin("/proc/self/status"), {"/proc/self/status", "not on bpffs"});
    prog = pinned_program();
    counts = array<std::uint64_t>();
    auto left = testing::wait_gone(made);
    CHECK(left.links.empty());
    CHECK(left.progs.empty());
    CHECK(left.maps.empty());
    CHECK(testing::output_of("ls /sys/fs/bpf | grep bpfco_up_ || true").empty());
}

TEST_CASE("link update under traffic: every packet counted by exactly one program") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    veth_pair net;
    auto obj = load_upgrade_test();
    auto prog_a = obj.program("up_xdp_a").value(), prog_b = obj.program("up_xdp_b").value();
    auto counts = obj.map<array<std::uint64_t>>("up_counted").value();
    bpfco::link l;
    {
        netns_scope in_b(net.ns_b);
        l = prog_a.attach_xdp(net.if_b).value();
    }
    constexpr int packets = 20000;
    std::atomic<bool> done{false};
    int sent = 0;
    std::thread sender([&] {
        sent = net.send(packets);
        done = true;
    });
    int swaps = 0;
    bool on_a = true;
    while (!done) {
        // The expected-old check always holds here: this loop is the only updater.
        auto r = on_a ? l.update(prog_b, prog_a) : l.update(prog_a, prog_b);
        if (!r) MESSAGE(r.error().message);
        REQUIRE(r);
        on_a = !on_a;
        ++swaps;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    sender.join();
    auto a = counted(counts, 0), b = counted(counts, 1);
    MESSAGE(swaps, " updates while ", sent, " packets flowed: ", a, " counted by up_xdp_a, ", b, " by up_xdp_b");
    CHECK(sent == packets);
    CHECK(swaps > 4);
    CHECK(a > 0);
    CHECK(b > 0);
    CHECK(a + b == std::uint64_t(sent));

    // Refused updates leave the link as it was: a stale expected program, a program of another type.
    auto& other = on_a ? prog_b : prog_a;
    auto stale = l.update(other, other);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code.value() == EPERM);
    CHECK(stale.error().message.find("another program is attached") != std::string::npos);
    auto wrong = l.update(obj.program("up_drop_all").value());
    REQUIRE_FALSE(wrong);
    MESSAGE(wrong.error().message);
    CHECK(wrong.error().message.find("up_drop_all") != std::string::npos);
    auto before = counted(counts, on_a ? 0 : 1);
    CHECK(net.send(100) == 100);
    CHECK(counted(counts, on_a ? 0 : 1) == before + 100);
}

TEST_CASE("batch writes: 100k entries by batch equal per-key writes; a failure part way reports the count") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    using view = hash_map<std::uint32_t, std::uint64_t>;
    constexpr std::uint32_t n = 100'000;
    auto batch = view::make(map::create(bpfco::map_type::hash, "bpfco_up_b", 4, 8, n).value()).value();
    auto per_key = view::make(map::create(bpfco::map_type::hash, "bpfco_up_p", 4, 8, n).value()).value();
    std::vector<std::uint32_t> keys(n);
    std::vector<std::uint64_t> values(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        keys[i] = i * 2654435761u;
        values[i] = std::uint64_t(i) << 20 | i;
    }
    CHECK(batch.insert_batch(keys, values).value() == n);
    for (std::uint32_t i = 0; i < n; ++i) per_key.insert(keys[i], values[i]).value();
    auto a = batch.read_all().value(), b = per_key.read_all().value();
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    CHECK(a.size() == n);
    CHECK(a == b);
    // The per-key path of insert_batch writes the same.
    CHECK(per_key.insert_batch(keys, values, update_flags::any, write_method::per_key).value() == n);
    CHECK(per_key.read_all().value().size() == n);

    CHECK(batch.erase_batch(keys).value() == n);
    CHECK(per_key.erase_batch(keys, write_method::per_key).value() == n);
    CHECK(batch.keys().value().empty());
    CHECK(per_key.keys().value().empty());

    // Part way: the map holds 1,000 entries, the batch brings 1,500 new keys.
    for (auto how : {write_method::batch, write_method::per_key}) {
        auto small = view::make(map::create(bpfco::map_type::hash, "bpfco_up_s", 4, 8, 1000).value()).value();
        auto r = small.insert_batch(std::span(keys).first(1500), std::span(values).first(1500), update_flags::any, how);
        REQUIRE_FALSE(r);
        MESSAGE(r.error().message);
        CHECK(r.error().code.value() == E2BIG);
        CHECK(r.error().message.find("1000 of 1500 applied") != std::string::npos);
        CHECK(r.error().applied == 1000u);
        CHECK(small.keys().value().size() == 1000);
        // An absent key in the middle of a delete: the ones before it are gone.
        std::vector<std::uint32_t> del(keys.begin(), keys.begin() + 10);
        del[5] = keys[1400];  // never written
        auto d = small.erase_batch(del, how);
        REQUIRE_FALSE(d);
        MESSAGE(d.error().message);
        CHECK(d.error().code.value() == ENOENT);
        CHECK(d.error().message.find("5 of 10 applied") != std::string::npos);
        CHECK(d.error().applied == 5u);
        CHECK(small.keys().value().size() == 995);
    }

    // Arrays and per-CPU forms.
    auto arr = array<std::uint64_t>::make(map::create(bpfco::map_type::array, "bpfco_up_a", 4, 8, 4).value()).value();
    std::vector<std::uint32_t> idx{0, 1, 2, 3, 4};
    std::vector<std::uint64_t> vals{10, 11, 12, 13, 14};
    auto r = arr.insert_batch(idx, vals);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("4 of 5 applied") != std::string::npos);
    CHECK(r.error().applied == 4u);
    CHECK(arr.lookup(3).value() == 13u);
    // Refused before writing anything: not a batch that ran, so no count.
    auto mismatch = arr.insert_batch(std::span(idx).first(2), std::span(vals).first(3));
    REQUIRE_FALSE(mismatch);
    CHECK_FALSE(mismatch.error().applied);

    auto pca = per_cpu_array<std::uint64_t>::make(
                   map::create(bpfco::map_type::percpu_array, "bpfco_up_pca", 4, 8, 4).value())
                   .value();
    const auto cpus = pca.cpus();
    std::vector<std::uint64_t> per_cpu(2 * cpus);
    for (std::size_t i = 0; i < per_cpu.size(); ++i) per_cpu[i] = i + 1;
    CHECK(pca.insert_batch(std::span(idx).first(2), per_cpu).value() == 2);
    CHECK(pca.lookup(1).value().value()[0] == cpus + 1);
    CHECK(pca.lookup(1).value().value()[cpus - 1] == 2 * cpus);
    CHECK_FALSE(pca.insert_batch(std::span(idx).first(3), per_cpu));

    auto pch = per_cpu_hash_map<std::uint32_t, std::uint64_t>::make(
                   map::create(bpfco::map_type::percpu_hash, "bpfco_up_pch", 4, 8, 16).value())
                   .value();
    CHECK(pch.insert_batch(std::span(keys).first(2), per_cpu).value() == 2);
    CHECK(pch.lookup_sum(keys[0]).value().value() == cpus * (cpus + 1) / 2);
    CHECK(pch.erase_batch(std::span(keys).first(2)).value() == 2);
    CHECK(pch.read_all().value().empty());
}

TEST_CASE("maps of maps: a program sees the new inner map after a swap, never none") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_upgrade_test();
    auto reader = obj.program("up_read_inner").value();
    auto seen = obj.map<array<std::uint64_t>>("up_seen").value();
    auto outer = obj.map<array_of_maps>("up_outer").value();
    auto outer_hash = obj.map<hash_of_maps<std::uint32_t>>("up_outer_hash").value();
    CHECK(outer.inner_template().type == map_type::array);
    CHECK(outer.inner_template().value_size == 8);

    static const std::byte packet[64] = {};
    test_run_options run;
    run.data_in = packet;
    auto read = [&](std::uint32_t slot) {
        test_run(reader, run).value();
        return counted(seen, slot);
    };
    obj.map<array<std::uint64_t>>("up_inner_a").value().insert(0, 1).value();
    CHECK(read(0) == 1);

    // New inner maps made like the template, filled, then swapped in.
    auto a2 = array<std::uint64_t>::make(outer.create_inner("bpfco_up_in2").value()).value();
    a2.insert(0, 2).value();
    auto a1 = array<std::uint64_t>::make(outer.create_inner("bpfco_up_in1").value()).value();
    a1.insert(0, 1).value();
    outer.insert(0, a2.untyped()).value();
    CHECK(read(0) == 2);
    CHECK(outer.inner_id(0).value() == a2.untyped().info().id);

    // Swapped back and forth while a second thread runs the program: always 1 or 2.
    std::atomic<bool> stop{false};
    std::uint64_t missing = 0, runs = 0;
    std::thread runner([&] {
        while (!stop) {
            auto v = read(0);
            if (v != 1 && v != 2) ++missing;
            ++runs;
        }
    });
    // Each replacement waits for an RCU grace period in the kernel (about 10 ms here).
    for (int i = 0; i < 200; ++i) outer.insert(0, (i % 2 ? a2 : a1).untyped()).value();
    stop = true;
    runner.join();
    MESSAGE(runs, " program runs during 200 swaps, ", missing, " saw no inner map");
    CHECK(runs > 0);
    CHECK(missing == 0);

    // Hash of maps: replace, remove, and a map of another kind refused with both kinds named.
    auto h2 = array<std::uint64_t>::make(outer_hash.create_inner("bpfco_up_h2").value()).value();
    h2.insert(0, 42).value();
    outer_hash.insert(7, h2.untyped()).value();
    CHECK(read(1) == 42);
    CHECK(outer_hash.erase(7).value());
    CHECK(read(1) == ~0ull);
    CHECK_FALSE(outer_hash.inner_id(7).value());
    auto other = map::create(bpfco::map_type::hash, "bpfco_up_other", 4, 8, 1).value();
    auto r = outer.insert(0, other);
    REQUIRE_FALSE(r);
    MESSAGE(r.error().message);
    CHECK(r.error().message.find("hash") != std::string::npos);
    CHECK(r.error().message.find("array") != std::string::npos);
    CHECK(read(0) >= 1);  // the refused set changed nothing

    // With an explicit template (for an outer map that holds no inner map yet).
    CHECK(array_of_maps::make(outer.untyped().duplicate().value(), outer.inner_template()).value().inner_template().max_entries == 1);
}
