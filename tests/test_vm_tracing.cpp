// kprobe_multi and LSM: they need kprobes (CONFIG_FPROBE) and BPF trampolines, which the host
// kernel lacks, so they run in the vm suite. The LSM test also needs "bpf" in the kernel's active
// LSM list (boot with lsm=...,bpf); without it, it skips and says so.
#include "support.hpp"

#include "vm_tracing.bpf.skel.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <vector>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {

std::string release() {
    utsname u{};
    ::uname(&u);
    return u.release;
}

// vm_tracing.bpf.c's .bss (one struct).
struct vm_tracing_bss {
    std::uint32_t target_pid;
    std::uint64_t marker_ino;
    std::uint64_t denied;
};

object load_vm_tracing(bool lsm) {
    auto obj = object::open_memory("vm_tracing", elf_of(vm_tracing_bpf__elf_bytes)).value();
    obj.program("deny_marker_open").value().set_autoload(lsm).value();
    obj.program("count_syscalls").value().set_autoload(!lsm).value();
    obj.load().value();
    return obj;
}

void set_bss(const object& obj, const vm_tracing_bss& v) {
    std::uint32_t zero = 0;
    auto bss = obj.map(".bss").value();
    REQUIRE(bss.info().value_size == sizeof v);
    bss.insert_bytes(&zero, &v, update_flags::any).value();
}

vm_tracing_bss get_bss(const object& obj) {
    vm_tracing_bss v{};
    std::uint32_t zero = 0;
    obj.map(".bss").value().lookup_bytes(&zero, &v).value();
    return v;
}

// The active LSMs, from securityfs (mounted here when the guest's init did not).
std::string active_lsms() {
    ::mkdir("/sys/kernel/security", 0755);
    ::mount("securityfs", "/sys/kernel/security", "securityfs", 0, nullptr);
    std::ifstream f("/sys/kernel/security/lsm");
    std::string s;
    std::getline(f, s);
    return s;
}

}  // namespace

TEST_CASE("kprobe_multi: one link over a pattern of syscall functions counts each") {
    BPFCO_REQUIRE_ROOT();
    if (!features::kprobes()) {
        testing::skip("kernel " + release() + " has no kprobes (kprobe_multi needs them): run the vm suite");
        return;
    }
    auto obj = load_vm_tracing(false);
    set_bss(obj, {static_cast<std::uint32_t>(::getpid()), 0, 0});
    {
        auto attached = obj.program("count_syscalls").value().attach_kprobe_multi("__x64_sys_getp*");
        if (!attached && attached.error().code == std::errc::operation_not_supported) {
            // Debian's 6.1 is built without CONFIG_FPROBE.
            testing::skip("kernel " + release() + " cannot attach kprobe_multi: " + attached.error().message);
            return;
        }
        auto l = std::move(attached).value();
        for (int i = 0; i < 100; ++i) ::syscall(SYS_getpid);
        for (int i = 0; i < 200; ++i) ::syscall(SYS_getppid);
        for (int i = 0; i < 300; ++i) ::syscall(SYS_getpgrp);
    }
    ::syscall(SYS_getpid);  // detached: not counted
    std::vector<std::uint64_t> counts;
    auto m = obj.map("calls_by_function").value();
    std::uint64_t key = 0, next = 0, n = 0;
    for (bool first = true; m.next_key_bytes(first ? nullptr : &key, &next).value(); first = false) {
        key = next;
        m.lookup_bytes(&key, &n).value();
        counts.push_back(n);
    }
    std::sort(counts.begin(), counts.end());
    CHECK(counts == std::vector<std::uint64_t>{100, 200, 300});
    std::printf("BPFCO-VM-CHECK: kprobe_multi on %s: %zu functions counted\n", release().c_str(), counts.size());
    std::fflush(stdout);

    // The list form: one function.
    const std::string one[] = {"__x64_sys_getppid"};
    auto l = obj.program("count_syscalls").value().attach_kprobe_multi(one);
    CHECK(l.has_value());
    auto none = obj.program("count_syscalls").value().attach_kprobe_multi("bpfco_tracing_no_such_function_*");
    REQUIRE(none.has_error());
    CHECK(none.error().message.find("'bpfco_tracing_no_such_function_*'") != std::string::npos);
}

TEST_CASE("LSM: a program denies opening a marker file only while its link lives") {
    BPFCO_REQUIRE_ROOT();
    if (!features::fentry()) {
        testing::skip("kernel " + release() + " has no BPF trampolines (LSM programs need them): run the vm suite");
        return;
    }
    auto lsms = active_lsms();
    if (lsms.find("bpf") == std::string::npos) {
        testing::skip("kernel " + release() + " runs no BPF LSM hooks (active LSMs: '" + lsms +
                      "'): boot with lsm=...,bpf");
        return;
    }
    const char* marker = "/tmp/bpfco_tracing_lsm_marker";
    { std::ofstream(marker) << "x"; }
    struct stat st {};
    REQUIRE(::stat(marker, &st) == 0);
    auto obj = load_vm_tracing(true);
    set_bss(obj, {0, static_cast<std::uint64_t>(st.st_ino), 0});
    auto try_open = [&] {
        int fd = ::open(marker, O_RDONLY | O_CLOEXEC);
        int e = fd < 0 ? errno : 0;
        if (fd >= 0) ::close(fd);
        return e;
    };
    CHECK(try_open() == 0);
    {
        auto l = obj.program("deny_marker_open").value().attach_lsm().value();
        CHECK(try_open() == EPERM);
        CHECK(::access("/proc/self/status", R_OK) == 0);  // other files open as before
    }
    CHECK(try_open() == 0);
    CHECK(get_bss(obj).denied == 1);
    ::unlink(marker);
    std::printf("BPFCO-VM-CHECK: LSM deny on %s: EPERM while attached\n", release().c_str());
    std::fflush(stdout);
}
