// object::choose_alternatives on real kernels: the same probe on file opens as fentry, kprobe and
// tracepoint, best first. The host kernel (no kprobes, no fentry) keeps the tracepoint; the vm
// suite's kernels keep fentry, or kprobe when fentry is left out. The kept program must count
// exactly the opens this test makes. Built into the kernel suite and the vm suite's binary.
#include "support.hpp"

#include "loader_test.bpf.skel.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {
bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

object open_all_off() {
    auto obj = object::open_skeleton("loader_test_bpf", loader_test_bpf__elf_bytes).value();
    for (auto& p : obj.programs()) p.set_autoload(false).value();
    return obj;
}

// What this kernel should keep of `group`, from the features the library reports.
std::string expected(const std::vector<std::string>& group) {
    for (const auto& name : group) {
        if (name == "open_fentry" && features::fentry() && features::kernel_function("do_sys_openat2")) return name;
        if (name == "open_kprobe" && features::kprobes()) return name;
        if (name == "open_tracepoint") return name;
    }
    return {};
}

void check_counts(const std::vector<std::string>& group) {
    auto obj = open_all_off();
    auto chosen = obj.choose_alternatives({group}).value();
    REQUIRE(chosen.size() == 1);
    MESSAGE("kept '", chosen[0].kept, "': ", chosen[0].reason);
    for (const auto& s : chosen[0].skipped) MESSAGE("skipped ", s);
    CHECK(chosen[0].kept == expected(group));
    CHECK(!chosen[0].reason.empty());
    obj.load().value();
    std::uint32_t zero = 0, pid = static_cast<std::uint32_t>(::getpid());
    obj.map("target_pid").value().insert_bytes(&zero, &pid, update_flags::any).value();
    auto link = obj.program(chosen[0].kept).value().attach().value();
    auto opens = obj.map("opens").value();
    std::uint64_t before = 0, after = 0;
    opens.lookup_bytes(&zero, &before).value();
    constexpr int n = 40;
    for (int i = 0; i < n; ++i) {
        int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
    }
    opens.lookup_bytes(&zero, &after).value();
    CHECK(after - before == n);
}
}  // namespace

TEST_CASE("choose_alternatives keeps the best probe this kernel runs, and it counts") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    check_counts({"open_fentry", "open_kprobe", "open_tracepoint"});
    check_counts({"open_kprobe", "open_tracepoint"});
}

TEST_CASE("choose_alternatives: a group none of which can run, an unknown name, after load") {
    BPFCO_REQUIRE_ROOT();
    auto obj = open_all_off();
    auto none = obj.choose_alternatives({{"fentry_missing_target"}});
    REQUIRE(none.has_error());
    MESSAGE(none.error().message);
    CHECK(contains(none.error().message, "fentry_missing_target"));
    CHECK(contains(none.error().message, features::fentry() ? "bpfco_loader_no_such_function" : "trampolines"));

    auto unknown = obj.choose_alternatives({{"open_tracepoint", "nosuch"}});
    REQUIRE(unknown.has_error());
    CHECK(contains(unknown.error().message, "nosuch"));
    CHECK(!bpf_program__autoload(obj.program("open_tracepoint").value().native_handle()));  // nothing changed

    obj.program("open_tracepoint").value().set_autoload(true).value();
    obj.load().value();
    auto late = obj.choose_alternatives({{"open_tracepoint"}});
    REQUIRE(late.has_error());
    CHECK(contains(late.error().message, "before load"));
}

TEST_CASE("a missing fentry target is named where fentry works") {
    BPFCO_REQUIRE_ROOT();
    auto obj = open_all_off();
    obj.program("fentry_missing_target").value().set_autoload(true).value();
    auto r = obj.load();
    REQUIRE(r.has_error());
    MESSAGE(r.error().message);
    CHECK(contains(r.error().message, "'bpfco_loader_no_such_function'"));
    CHECK(!contains(r.error().message, "CAP_BPF"));
}

TEST_CASE("an LSM program attaches where 'bpf' is in lsm=, and says so where it is not") {
    BPFCO_REQUIRE_ROOT();
    if (!features::fentry()) {
        testing::skip("no BPF trampolines here: loader_parity tests that hint");
        return;
    }
    MESSAGE("active LSMs: '", features::active_lsms(), "'");
    auto obj = open_all_off();
    obj.program("lsm_file_open").value().set_autoload(true).value();
    auto loaded = obj.load();
    if (loaded.has_error()) {
        MESSAGE(loaded.error().message);
        CHECK(!features::lsm());
        CHECK(contains(loaded.error().message, "lsm="));
        return;
    }
    auto l = obj.program("lsm_file_open").value().attach();
    if (features::lsm()) {
        CHECK(l.has_value());
        return;
    }
    REQUIRE(l.has_error());
    MESSAGE(l.error().message);
    CHECK(contains(l.error().message, "program 'lsm_file_open'"));
    CHECK(contains(l.error().message, "lsm="));
}
