// kprobe, kretprobe and fentry: the host kernel has neither kprobes nor fentry, so these run in
// the vm suite (Debian's stock kernel in qemu, tests/vm/run-vm.sh). On a kernel without them
// they skip and say why; the same source is in the kernel suite to show that.
#include "support.hpp"

#include "vm_probes.bpf.skel.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {
enum : std::uint32_t { slot_kprobe = 0, slot_kretprobe = 1, slot_fentry = 2 };

// Loads vm_probes with the fentry program only where fentry can attach.
object load_probes() {
    auto obj = object::open_memory("vm_probes", elf_of(vm_probes_bpf__elf_bytes)).value();
    obj.program("fentry_openat2").value().set_autoload(features::fentry()).value();
    obj.load().value();
    std::uint32_t zero = 0, pid = static_cast<std::uint32_t>(::getpid());
    obj.map("target_pid").value().insert_bytes(&zero, &pid, update_flags::any).value();
    return obj;
}

std::uint64_t counter(const object& obj, std::uint32_t slot) {
    std::uint64_t n = 0;
    CHECK(obj.map("counters").value().lookup_bytes(&slot, &n).value());
    return n;
}

std::string kernel_release() {
    utsname u{};
    ::uname(&u);
    return u.release;
}

// One line per probe that the vm runner's log shows whatever the reporter prints.
void report(const char* what, std::uint64_t counted, int expected) {
    std::printf("BPFCO-VM-CHECK: %s on %s: counted %llu of %d\n", what, kernel_release().c_str(),
                static_cast<unsigned long long>(counted), expected);
    std::fflush(stdout);
}

bool need(bool have, const char* what) {
    if (!have)
        testing::skip(std::string("kernel ") + kernel_release() + " cannot attach " + what +
                      " (features::" + what + "() is false): run the vm suite (meson test --suite vm)");
    return have;
}
}  // namespace

TEST_CASE("kprobe counts getpid calls exactly") {
    BPFCO_REQUIRE_ROOT();
    if (!need(features::kprobes(), "kprobes")) return;
    testing::kernel_ids made;
    {
        auto obj = load_probes();
        auto link = obj.program("kprobe_counter").value().attach_kprobe("__x64_sys_getpid").value();
        made = testing::own_ids();
        constexpr int n = 100;
        for (int i = 0; i < n; ++i) ::syscall(SYS_getpid);
        report("kprobe __x64_sys_getpid", counter(obj, slot_kprobe), n);
        CHECK(counter(obj, slot_kprobe) == n);
        link.detach();
        ::syscall(SYS_getpid);
        CHECK(counter(obj, slot_kprobe) == n);
    }
    CHECK(testing::wait_gone(made).links.empty());
}

TEST_CASE("kretprobe counts getpid returns exactly") {
    BPFCO_REQUIRE_ROOT();
    if (!need(features::kprobes(), "kprobes")) return;
    auto obj = load_probes();
    auto link = obj.program("kretprobe_counter").value().attach_kretprobe("__x64_sys_getpid").value();
    constexpr int n = 100;
    for (int i = 0; i < n; ++i) ::syscall(SYS_getpid);
    report("kretprobe __x64_sys_getpid", counter(obj, slot_kretprobe), n);
    CHECK(counter(obj, slot_kretprobe) == n);
}

TEST_CASE("fentry counts opens exactly") {
    BPFCO_REQUIRE_ROOT();
    if (!need(features::fentry(), "fentry")) return;
    auto obj = load_probes();
    auto link = obj.program("fentry_openat2").value().attach_trace().value();
    constexpr int n = 100;
    for (int i = 0; i < n; ++i) ::close(::open("/", O_RDONLY | O_CLOEXEC));
    report("fentry do_sys_openat2", counter(obj, slot_fentry), n);
    CHECK(counter(obj, slot_fentry) == n);
    link.detach();
    ::close(::open("/", O_RDONLY | O_CLOEXEC));
    CHECK(counter(obj, slot_fentry) == n);
}

// In the VM, run-vm.sh names the features each kernel must have (BPFCO_VM_EXPECT): a kernel that
// lost one, or a probe that stopped seeing it, fails here instead of silently skipping the tests
// above. On the host the list is empty and the case only prints.
TEST_CASE("kernel features") {
    std::printf("BPFCO-VM-FEATURES on %s:\n%s", kernel_release().c_str(), features::summary().c_str());
    std::fflush(stdout);
    const std::map<std::string, bool (*)()> probes = {
        {"btf", features::btf},           {"kprobes", features::kprobes},
        {"fentry", features::fentry},     {"ring_buffer", features::ring_buffer},
        {"batch_ops", features::batch_ops}, {"xdp", features::xdp},
        {"tc", features::tc},             {"perf_event", features::perf_event},
    };
    const char* expect = std::getenv("BPFCO_VM_EXPECT");
    std::string list = expect ? expect : "";
    for (std::size_t pos = 0; pos < list.size();) {
        auto end = std::min(list.find(',', pos), list.size());
        std::string name = list.substr(pos, end - pos);
        pos = end + 1;
        if (name.empty()) continue;
        auto probe = probes.find(name);
        INFO("expected feature '" << name << "' on kernel " << kernel_release());
        REQUIRE(probe != probes.end());
        CHECK(probe->second());
    }
}
