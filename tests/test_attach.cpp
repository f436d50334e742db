// Every attach path on this kernel, each checked by what the kernel did: packets counted and
// dropped (XDP on a veth pair in namespaces of the test's own), TC filters counted and removed,
// uprobe calls counted exactly, perf samples of this process, cgroup socket creation, pinning,
// and no kernel object left behind.
#include "support.hpp"

#include "attach_test.bpf.skel.h"
#include "syscall_count.bpf.skel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {

// Slots of the counters map (bpf/attach_test.bpf.c).
enum : std::uint32_t {
    slot_xdp_udp = 0,
    slot_xdp_drop = 1,
    slot_tc_ingress = 2,
    slot_tc_egress = 3,
    slot_uprobe = 4,
    slot_uretprobe = 5,
    slot_uret_sum = 6,
    slot_perf_ours = 7,
    slot_perf_all = 8,
    slot_sock_create = 9,
};

object load_attach_test() {
    return object::load_memory("attach_test", elf_of(attach_test_bpf__elf_bytes)).value();
}

std::uint64_t counter(const object& obj, std::uint32_t slot) {
    std::uint64_t n = 0;
    CHECK(obj.map("counters").value().lookup_bytes(&slot, &n).value());
    return n;
}

void set_target_pid(const object& obj) {
    std::uint32_t zero = 0, pid = static_cast<std::uint32_t>(::getpid());
    obj.map("target_pid").value().insert_bytes(&zero, &pid, update_flags::any).value();
}

// Checks that every program, map and link the test held is gone once destroyed.
void check_gone(const testing::kernel_ids& made) {
    auto still = testing::wait_gone(made);
    CHECK_MESSAGE(still.progs.empty(), "programs still in the kernel: ", still.progs.size());
    CHECK_MESSAGE(still.maps.empty(), "maps still in the kernel: ", still.maps.size());
    CHECK_MESSAGE(still.links.empty(), "links still in the kernel: ", still.links.size());
}

// Moves this thread into a network namespace for the scope (setns), and back.
class netns_scope {
public:
    explicit netns_scope(const std::string& name)
        : home_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
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

// Two network namespaces joined by a veth pair: a (10.251.0.1) <-> b (10.251.0.2). Names are
// unique per pid; the destructor deletes both namespaces (and with them the veth pair) even when
// the test failed half-way.
struct veth_pair {
    std::string ns_a, ns_b, if_a, if_b;
    static constexpr const char* addr_a = "10.251.0.1";
    static constexpr const char* addr_b = "10.251.0.2";

    veth_pair() {
        auto pid = std::to_string(::getpid());
        ns_a = "bpfco-a-" + pid;
        ns_b = "bpfco-b-" + pid;
        if_a = "bca" + pid;
        if_b = "bcb" + pid;
        remove();
        int r = testing::run(
            "set -e; ip netns add " + ns_a + "; ip netns add " + ns_b + "; ip link add " + if_a + " netns " + ns_a +
            " type veth peer name " + if_b + " netns " + ns_b + "; ip -n " + ns_a + " addr add " + addr_a + "/30 dev " +
            if_a + "; ip -n " + ns_b + " addr add " + addr_b + "/30 dev " + if_b + "; ip -n " + ns_a + " link set " +
            if_a + " up; ip -n " + ns_b + " link set " + if_b + " up; ip -n " + ns_a + " link set lo up; ip -n " +
            ns_b + " link set lo up");
        REQUIRE_MESSAGE(r == 0, "cannot create the veth pair between namespaces");
    }
    ~veth_pair() { remove(); }
    veth_pair(const veth_pair&) = delete;
    veth_pair& operator=(const veth_pair&) = delete;

    void remove() const { testing::run("ip netns del " + ns_a + " 2>/dev/null; ip netns del " + ns_b + " 2>/dev/null"); }

    // A UDP socket bound to `addr` in namespace `ns` (the socket keeps its namespace).
    static unique_fd udp_socket(const std::string& ns, const char* addr, std::uint16_t port) {
        netns_scope in(ns);
        unique_fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        REQUIRE(bool(s));
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        ::inet_pton(AF_INET, addr, &sa.sin_addr);
        REQUIRE_MESSAGE(::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0, "bind: ", std::strerror(errno));
        timeval tv{0, 300'000};
        ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return s;
    }

    // Sends n datagrams from `from` to addr:port, then receives on `to` until a receive times
    // out; returns how many arrived.
    static int exchange(const unique_fd& from, const unique_fd& to, const char* addr, std::uint16_t port, int n) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        ::inet_pton(AF_INET, addr, &sa.sin_addr);
        for (int i = 0; i < n; ++i) {
            char msg[32];
            int len = std::snprintf(msg, sizeof msg, "bpfco %d", i);
            CHECK(::sendto(from.get(), msg, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == len);
        }
        int got = 0;
        char buf[64];
        while (::recv(to.get(), buf, sizeof buf, 0) > 0) ++got;
        return got;
    }
};

}  // namespace

namespace {
void xdp_counts_and_drops(const veth_pair& net, xdp_mode mode, const char* mode_name) {
    testing::kernel_ids made;
    {
        auto obj = load_attach_test();
        auto a = veth_pair::udp_socket(net.ns_a, veth_pair::addr_a, 4000);
        auto b = veth_pair::udp_socket(net.ns_b, veth_pair::addr_b, 4001);
        netns_scope in_b(net.ns_b);  // the interface name means something only in b
        auto link = obj.program("xdp_udp_counter").value().attach_xdp(net.if_b, mode).value();
        made = testing::own_ids();
        REQUIRE(made.links.size() == 1);
        auto shown = testing::output_of("ip link show dev " + net.if_b);
        CHECK_MESSAGE(shown.find(mode == xdp_mode::generic ? "xdpgeneric" : "xdp") != std::string::npos, shown);

        constexpr int n = 20;
        CHECK(veth_pair::exchange(a, b, veth_pair::addr_b, 4001, n) == n);
        CHECK(counter(obj, slot_xdp_udp) == n);
        CHECK(counter(obj, slot_xdp_drop) == 0);

        // Block a's address: the kernel drops a's packets before b's socket sees them.
        in_addr blocked{};
        ::inet_pton(AF_INET, veth_pair::addr_a, &blocked);
        std::uint8_t one = 1;
        obj.map("blocked_ips").value().insert_bytes(&blocked.s_addr, &one, update_flags::no_exist).value();
        CHECK(veth_pair::exchange(a, b, veth_pair::addr_b, 4001, n) == 0);
        CHECK(counter(obj, slot_xdp_udp) == 2 * n);
        CHECK(counter(obj, slot_xdp_drop) == n);
        MESSAGE("XDP (", std::string(mode_name), ") on ", net.if_b, ": ", counter(obj, slot_xdp_udp), " UDP packets seen, ",
                counter(obj, slot_xdp_drop), " dropped from blocked ", std::string(veth_pair::addr_a));

        // Detached: nothing counted, nothing dropped.
        link.detach();
        CHECK(testing::output_of("ip link show dev " + net.if_b).find("prog/xdp") == std::string::npos);
        CHECK(veth_pair::exchange(a, b, veth_pair::addr_b, 4001, n) == n);
        CHECK(counter(obj, slot_xdp_udp) == 2 * n);
    }
    check_gone(made);
}
}  // namespace

TEST_CASE("XDP on a veth counts UDP packets and drops those from blocked_ips") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    veth_pair net;
    SUBCASE("generic") { xdp_counts_and_drops(net, xdp_mode::generic, "generic"); }
    SUBCASE("automatic") { xdp_counts_and_drops(net, xdp_mode::automatic, "automatic"); }
}

TEST_CASE("TC ingress and egress on a veth count packets and go away with the link") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    veth_pair net;
    testing::kernel_ids made;
    {
        auto obj = load_attach_test();
        auto a = veth_pair::udp_socket(net.ns_a, veth_pair::addr_a, 4000);
        auto b = veth_pair::udp_socket(net.ns_b, veth_pair::addr_b, 4001);
        auto filters = [&](const char* dir) {
            return testing::output_of("ip netns exec " + net.ns_b + " tc filter show dev " + net.if_b + " " + dir);
        };
        bpfco::link ingress, egress;
        {
            netns_scope in_b(net.ns_b);
            ingress = obj.program("tc_ingress_counter").value().attach_tc(net.if_b, tc_direction::ingress).value();
            egress = obj.program("tc_egress_counter").value().attach_tc(net.if_b, tc_direction::egress).value();
        }
        made = testing::own_ids();
        auto in_shown = filters("ingress");
        MESSAGE("tc filter show dev ", net.if_b, " ingress:\n", in_shown);
        CHECK(in_shown.find("tc_ingress_coun") != std::string::npos);
        CHECK(filters("egress").find("tc_egress_count") != std::string::npos);

        constexpr int n = 15, k = 7;
        CHECK(veth_pair::exchange(a, b, veth_pair::addr_b, 4001, n) == n);  // a -> b: b's ingress
        CHECK(veth_pair::exchange(b, a, veth_pair::addr_a, 4000, k) == k);  // b -> a: b's egress
        CHECK(counter(obj, slot_tc_ingress) == n);
        CHECK(counter(obj, slot_tc_egress) == k);

        // Destroyed outside the namespace: the link detaches in the namespace it attached in.
        ingress = bpfco::link();
        egress.detach();
        CHECK(filters("ingress").find("tc_ingress_coun") == std::string::npos);
        CHECK(filters("egress").find("tc_egress_count") == std::string::npos);
        CHECK(veth_pair::exchange(a, b, veth_pair::addr_b, 4001, n) == n);
        CHECK(veth_pair::exchange(b, a, veth_pair::addr_a, 4000, k) == k);
        CHECK(counter(obj, slot_tc_ingress) == n);
        CHECK(counter(obj, slot_tc_egress) == k);
    }
    check_gone(made);
}

// The uprobe target: a real function in this binary, never inlined, found by its ELF symbol.
extern "C" __attribute__((noinline, used)) int bpfco_uprobe_target(int x) {
    asm volatile("" ::: "memory");
    return x + 1;
}

TEST_CASE("uprobe and uretprobe count calls of a function in this binary exactly") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    char exe[PATH_MAX] = {};
    REQUIRE(::readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    testing::kernel_ids made;
    int (*volatile target)(int) = bpfco_uprobe_target;
    {
        auto obj = load_attach_test();
        auto entry = obj.program("uprobe_counter").value().attach_uprobe(exe, "bpfco_uprobe_target").value();
        auto ret = obj.program("uretprobe_counter").value()
                       .attach_uprobe(exe, "bpfco_uprobe_target", {.pid = ::getpid(), .retprobe = true}).value();
        made = testing::own_ids();
        constexpr int n = 250;
        std::uint64_t sum = 0;
        for (int i = 0; i < n; ++i) sum += static_cast<std::uint64_t>(target(i));
        CHECK(counter(obj, slot_uprobe) == n);
        CHECK(counter(obj, slot_uretprobe) == n);
        CHECK(counter(obj, slot_uret_sum) == sum);  // the uretprobe saw every return value
        MESSAGE("uprobe on bpfco_uprobe_target in ", exe, ": ", counter(obj, slot_uprobe), " calls, uretprobe: ",
                counter(obj, slot_uretprobe), " returns summing to ", counter(obj, slot_uret_sum));
        entry.detach();
        ret.detach();
        target(1);
        CHECK(counter(obj, slot_uprobe) == n);
        CHECK(counter(obj, slot_uretprobe) == n);
    }
    check_gone(made);
}


TEST_CASE("perf_event program counts cpu-clock samples of this process") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    testing::kernel_ids made;
    {
        auto obj = load_attach_test();
        set_target_pid(obj);
        auto prog = obj.program("perf_sample_counter").value();
        std::vector<bpfco::link> links;
        const auto cpus = bpfco::online_cpus().value();
        for (int cpu : cpus) {
            perf_event_attr attr{};
            attr.size = sizeof attr;
            attr.type = PERF_TYPE_SOFTWARE;
            attr.config = PERF_COUNT_SW_CPU_CLOCK;
            attr.freq = 1;
            attr.sample_freq = 1000;
            int pfd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
            REQUIRE_MESSAGE(pfd >= 0, "perf_event_open on cpu ", cpu, ": ", std::strerror(errno));
            links.push_back(prog.attach_perf_event(unique_fd(pfd)).value());
        }
        made = testing::own_ids();
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        volatile std::uint64_t spin = 0;
        while (std::chrono::steady_clock::now() < end) spin = spin + 1;
        auto ours = counter(obj, slot_perf_ours), all = counter(obj, slot_perf_all);
        MESSAGE("cpu-clock at 1000 Hz on ", links.size(), " CPUs for 200 ms: ", all, " samples, ", ours,
                " of them in this process");
        CHECK(ours > 0);
        CHECK(all >= ours);
        links.clear();
        auto after = counter(obj, slot_perf_all);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        CHECK(counter(obj, slot_perf_all) == after);  // detached: no more samples
    }
    check_gone(made);
}

namespace {
// Removes bpffs pins at scope exit, whatever happened.
struct unpin_at_exit {
    std::vector<std::string> paths;
    ~unpin_at_exit() {
        for (auto& p : paths) ::unlink(p.c_str());
    }
};
}  // namespace

TEST_CASE("a pinned perf_event link keeps sampling after its handle is gone") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto path = "/sys/fs/bpf/bpfco-test-" + std::to_string(::getpid()) + "-perf";
    unpin_at_exit pin{{path}};
    testing::kernel_ids made;
    {
        auto obj = load_attach_test();
        perf_event_attr attr{};
        attr.size = sizeof attr;
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = PERF_COUNT_SW_CPU_CLOCK;
        attr.freq = 1;
        attr.sample_freq = 1000;
        int pfd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1, bpfco::online_cpus().value().front(), -1, PERF_FLAG_FD_CLOEXEC));
        REQUIRE_MESSAGE(pfd >= 0, "perf_event_open: ", std::strerror(errno));
        {
            auto l = obj.program("perf_sample_counter").value().attach_perf_event(unique_fd(pfd)).value();
            l.pin(path).value();
            made = testing::own_ids();
        }
        auto before = counter(obj, slot_perf_all);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // cpu-clock ticks while idle too
        auto pinned = counter(obj, slot_perf_all) - before;
        MESSAGE("pinned perf_event link, handle closed: ", pinned, " samples in 200 ms");
        CHECK(pinned > 0);
        REQUIRE(::unlink(path.c_str()) == 0);
        testing::kernel_ids link_only;
        link_only.links = made.links;
        CHECK(testing::wait_gone(link_only).links.empty());
        before = counter(obj, slot_perf_all);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        CHECK(counter(obj, slot_perf_all) == before);
    }
    check_gone(made);
}

namespace {
// A cgroup2 mount point: /sys/fs/cgroup itself, /sys/fs/cgroup/unified on hybrid systems, or
// one we mount.
std::string cgroup2_root() {
    std::ifstream mounts("/proc/mounts");
    for (std::string dev, dir, type, rest; mounts >> dev >> dir >> type && std::getline(mounts, rest);)
        if (type == "cgroup2") return dir;
    std::string dir = "/tmp/bpfco-cgroup2";
    ::mkdir(dir.c_str(), 0755);
    if (testing::run("mount -t cgroup2 none " + dir) == 0) return dir;
    return {};
}
}  // namespace

TEST_CASE("cgroup sock_create program counts sockets made by a process in the cgroup") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto root = cgroup2_root();
    if (root.empty()) {
        testing::skip("no cgroup2 hierarchy and none can be mounted");
        return;
    }
    auto cg = root + "/bpfco-test-" + std::to_string(::getpid());
    ::rmdir(cg.c_str());
    REQUIRE_MESSAGE(::mkdir(cg.c_str(), 0755) == 0, "mkdir ", cg, ": ", std::strerror(errno));
    // Removes the cgroup whatever happens (it empties once the child has been reaped).
    struct remove_cgroup {
        std::string path;
        bool removed = false;
        ~remove_cgroup() { remove(); }
        void remove() {
            for (int i = 0; i < 100 && !removed; ++i) {
                removed = ::rmdir(path.c_str()) == 0 || errno == ENOENT;
                if (!removed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
    } cleanup{cg};
    testing::kernel_ids made;
    {
        auto obj = load_attach_test();
        auto link = obj.program("sock_create_counter").value().attach_cgroup(cg, bpfco::attach_type::cgroup_inet_sock_create).value();
        made = testing::own_ids();
        // This process is not in the cgroup: its sockets are not counted.
        for (int i = 0; i < 3; ++i) unique_fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        CHECK(counter(obj, slot_sock_create) == 0);
        constexpr int n = 5;
        pid_t child = ::fork();
        if (child == 0) {
            // The child joins the cgroup, then makes n sockets.
            FILE* procs = std::fopen((cg + "/cgroup.procs").c_str(), "w");
            if (!procs || std::fprintf(procs, "%d\n", ::getpid()) < 0 || std::fclose(procs) != 0) ::_exit(2);
            for (int i = 0; i < n; ++i) ::close(::socket(AF_INET, SOCK_DGRAM, 0));
            ::_exit(0);
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), "child could not join ", cg);
        CHECK(counter(obj, slot_sock_create) == n);
        MESSAGE("cgroup/sock_create on ", cg, ": ", counter(obj, slot_sock_create), " sockets counted");
    }
    check_gone(made);
    cleanup.remove();
    CHECK_MESSAGE(cleanup.removed, "rmdir ", cg, ": ", std::strerror(errno));
}

TEST_CASE("pinned maps reopen by path; a pinned link outlives its handle until unpinned") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto base = "/sys/fs/bpf/bpfco-test-" + std::to_string(::getpid());
    unpin_at_exit pins{{base + "-map", base + "-link"}};
    testing::kernel_ids made;
    {
        auto obj = object::load_memory("syscall_count", elf_of(syscall_count_bpf__elf_bytes)).value();
        auto counts = obj.map("counts").value();
        counts.pin(pins.paths[0]).value();
        auto reopened = map::from_pinned(pins.paths[0]).value();
        CHECK(reopened.info().id == counts.info().id);
        CHECK(reopened.name() == "counts");
        std::uint32_t zero = 0;
        std::uint64_t v = 42, back = 0;
        reopened.insert_bytes(&zero, &v, update_flags::any).value();
        CHECK(counts.lookup_bytes(&zero, &back).value());
        CHECK(back == 42);

        std::uint32_t pid = static_cast<std::uint32_t>(::getpid());
        obj.map("filter").value().insert_bytes(&zero, &pid, update_flags::any).value();
        {
            auto l = obj.program("count_sys_enter").value().attach_tracepoint("raw_syscalls", "sys_enter").value();
            l.pin(pins.paths[1]).value();
            made = testing::own_ids();
        }
        // Our handle is gone, the pin keeps the program attached.
        std::uint64_t before = 0, after = 0;
        counts.lookup_bytes(&zero, &before).value();
        for (int i = 0; i < 100; ++i) ::syscall(SYS_getppid);
        counts.lookup_bytes(&zero, &after).value();
        CHECK(after - before >= 100);
        MESSAGE("pinned link at ", pins.paths[1], " kept counting: ", after - before, " syscalls after its handle closed");
        // Unpinned: the last reference goes, the program is detached.
        REQUIRE(::unlink(pins.paths[1].c_str()) == 0);
        testing::kernel_ids link_only;
        link_only.links = made.links;
        CHECK(testing::wait_gone(link_only).links.empty());
        counts.lookup_bytes(&zero, &before).value();
        for (int i = 0; i < 100; ++i) ::syscall(SYS_getppid);
        counts.lookup_bytes(&zero, &after).value();
        CHECK(after == before);
    }
    // The pinned map survives its handles until unpinned.
    auto again = map::from_pinned(pins.paths[0]);
    REQUIRE(again.has_value());
    again = map();
    REQUIRE(::unlink(pins.paths[0].c_str()) == 0);
    check_gone(made);
    CHECK(::access(pins.paths[0].c_str(), F_OK) != 0);
}
