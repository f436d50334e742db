// Every error a user is likely to meet, made for real and printed (MESSAGE) so the test log shows
// exactly what a user would read.
#include "support.hpp"

#include "attach_test.bpf.skel.h"
#include "verifier_reject.bpf.skel.h"
#include "vm_probes.bpf.skel.h"

#include <linux/bpf.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {
bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }
}  // namespace

TEST_CASE("features summary") {
    auto s = features::summary();
    MESSAGE("features::summary():\n", s);
    CHECK(contains(s, "kprobes: "));
    CHECK(contains(s, "fentry: "));
}

TEST_CASE("errors, kinds and counters format with fmt") {
    const auto e = make_error(ENOENT, "map 'm': lookup: No such file or directory");
    CHECK(fmt::format("{}", e) == e.message);
    CHECK(fmt::format("{}", map_type::hash) == "hash");
    CHECK(fmt::format("{}", map_type::user_ringbuf) == "user_ringbuf");
    CHECK(fmt::format("{}", program_type::xdp) == "xdp");
    CHECK(fmt::format("{}", attach_type::cgroup_inet_ingress) == "cgroup_inet_ingress");
    CHECK(fmt::format("{}", attach_type::tcx_egress) == "tcx_egress");
    CHECK(fmt::format("{}", link_type::tcx) == "tcx");
    CHECK(fmt::format("{}", static_cast<link_type>(999)) == "999");
    CHECK(fmt::format("{:>6}", program_type::xdp) == "   xdp");
    CHECK(fmt::format("{}", perf_counter::cpu_clock) == "cpu-clock");
    CHECK(static_cast<std::uint32_t>(map_type::ringbuf) == BPF_MAP_TYPE_RINGBUF);
    CHECK(static_cast<std::uint32_t>(attach_type::lsm_cgroup) == BPF_LSM_CGROUP);
    CHECK(static_cast<std::uint32_t>(link_type::kprobe_multi) == BPF_LINK_TYPE_KPROBE_MULTI);
    CHECK(static_cast<std::uint32_t>(program_type::syscall) == BPF_PROG_TYPE_SYSCALL);
}

TEST_CASE("a program the verifier rejects: the error names it and quotes the verifier") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto r = object::load_memory("verifier_reject", elf_of(verifier_reject_bpf__elf_bytes));
    REQUIRE(r.has_error());
    MESSAGE(r.error().message);
    CHECK(r.error().code == std::errc::permission_denied);  // the verifier says EACCES
    CHECK(contains(r.error().message, "program 'out_of_bounds_read'"));
    CHECK(contains(r.error().message, "rejected by the verifier"));
    CHECK(contains(r.error().message, "invalid access to map value"));
}

TEST_CASE("attach to an interface that does not exist") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = object::load_memory("attach_test", elf_of(attach_test_bpf__elf_bytes)).value();
    auto xdp = obj.program("xdp_udp_counter").value().attach_xdp("bpfco-nosuch0");
    REQUIRE(xdp.has_error());
    MESSAGE(xdp.error().message);
    CHECK(xdp.error().code == std::errc::no_such_device);
    CHECK(contains(xdp.error().message, "'bpfco-nosuch0'"));
    CHECK(contains(xdp.error().message, "xdp_udp_counter"));

    auto tc = obj.program("tc_ingress_counter").value().attach_tc("bpfco-nosuch0", tc_direction::ingress);
    REQUIRE(tc.has_error());
    MESSAGE(tc.error().message);
    CHECK(contains(tc.error().message, "'bpfco-nosuch0'"));
}

TEST_CASE("a map view with the wrong sizes or type is refused") {
    BPFCO_REQUIRE_ROOT();
    auto obj = object::load_memory("attach_test", elf_of(attach_test_bpf__elf_bytes)).value();
    auto counters = obj.map("counters").value();  // array, u32 -> u64
    const map_type array[] = {map_type::array}, hash[] = {map_type::hash, map_type::lru_hash};
    CHECK(counters.check(array, 4, 8).has_value());
    auto size = counters.check(array, 4, 4);
    REQUIRE(size.has_error());
    MESSAGE(size.error().message);
    CHECK(size.error().code == std::errc::invalid_argument);
    CHECK(contains(size.error().message, "value size 8"));
    CHECK(contains(size.error().message, "value size 4"));
    auto type = counters.check(hash, 4, 8);
    REQUIRE(type.has_error());
    MESSAGE(type.error().message);
    CHECK(contains(type.error().message, "array"));
    auto blocked = obj.map("blocked_ips").value();
    CHECK(blocked.check(hash, 4, 1).has_value());
}

TEST_CASE("kprobe on a kernel without kprobes says to use tracepoints") {
    BPFCO_REQUIRE_ROOT();
    if (features::kprobes()) {
        testing::skip("this kernel has kprobes: the vm suite tests them");
        return;
    }
    auto obj = object::open_memory("vm_probes", elf_of(vm_probes_bpf__elf_bytes)).value();
    obj.program("fentry_openat2").value().set_autoload(false).value();
    obj.load().value();
    auto l = obj.program("kprobe_counter").value().attach_kprobe("__x64_sys_getpid");
    REQUIRE(l.has_error());
    MESSAGE(l.error().message);
    CHECK(l.error().code == std::errc::operation_not_supported);
    CHECK(contains(l.error().message, "no kprobes"));
    CHECK(contains(l.error().message, "tracepoint"));
    auto r = obj.program("kretprobe_counter").value().attach_kretprobe("__x64_sys_getpid");
    REQUIRE(r.has_error());
    CHECK(contains(r.error().message, "kretprobe"));
}

TEST_CASE("fentry on a kernel without trampolines says so") {
    BPFCO_REQUIRE_ROOT();
    if (features::fentry()) {
        testing::skip("this kernel attaches fentry: the vm suite tests it");
        return;
    }
    auto obj = object::open_memory("vm_probes", elf_of(vm_probes_bpf__elf_bytes)).value();
    // Loading already fails where the kernel has no trampolines (EPERM, even for root).
    if (auto loaded = obj.load(); loaded.has_error()) {
        MESSAGE(loaded.error().message);
        CHECK(contains(loaded.error().message, "program 'fentry_openat2'"));
        CHECK(contains(loaded.error().message, "cannot run fentry/fexit programs"));
        CHECK(!contains(loaded.error().message, "CAP_BPF"));
    }
    auto l = obj.program("fentry_openat2").value().attach_trace();
    REQUIRE(l.has_error());
    MESSAGE(l.error().message);
    CHECK(l.error().code == std::errc::operation_not_supported);
    CHECK(contains(l.error().message, "fentry"));
}

// Run by the next test case as an unprivileged child (setpriv): loading must fail with EPERM and
// a message naming the capabilities. Skipped when run directly.
TEST_CASE("unprivileged load child") {
    if (std::getenv("BPFCO_UNPRIVILEGED_CHILD") == nullptr) return;
    REQUIRE(::geteuid() != 0);
    auto r = object::load_memory("attach_test", elf_of(attach_test_bpf__elf_bytes));
    REQUIRE(r.has_error());
    std::printf("UNPRIVILEGED-ERROR: %s\n", r.error().message.c_str());
    CHECK(r.error().code == std::errc::operation_not_permitted);
    CHECK(contains(r.error().message, "CAP_BPF"));
    CHECK(contains(r.error().message, "CAP_PERFMON"));
}

TEST_CASE("loading without privileges names the capabilities needed") {
    BPFCO_REQUIRE_ROOT();
    if (testing::run("command -v setpriv >/dev/null") != 0) {
        testing::skip("setpriv (util-linux) not installed");
        return;
    }
    char exe[PATH_MAX] = {};
    REQUIRE(::readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    // The same binary, as nobody with no capabilities at all.
    auto out = testing::output_of(
        std::string("BPFCO_UNPRIVILEGED_CHILD=1 setpriv --reuid=65534 --regid=65534 --clear-groups "
                    "--inh-caps=-all --bounding-set=-all ") +
        exe + " --test-case='unprivileged load child' --no-colors 2>&1; echo \"CHILD-EXIT: $?\"");
    auto line = out.find("UNPRIVILEGED-ERROR: ");
    REQUIRE_MESSAGE(line != std::string::npos, out);
    MESSAGE(out.substr(line, out.find('\n', line) - line));
    CHECK_MESSAGE(contains(out, "CHILD-EXIT: 0"), out);
}
