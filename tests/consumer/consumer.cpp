#include <bpfco/bpfco.hpp>

#include "getppid_count.h"  // before the skeleton, which names the struct
#include "getppid_count.bpf.skel.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>

int main() {
    try {
        auto obj = bpfco::object::open_skeleton("getppid_count", getppid_count_bpf__elf_bytes).value();
        obj.global<std::uint32_t>("target_pid").value().set(static_cast<std::uint32_t>(::getpid())).value();
        obj.load().value();
        auto link = obj.program("on_getppid").value().attach().value();
        for (int i = 0; i < 42; ++i) ::getppid();
        // A struct global: its layout is checked against the BTF here.
        const getppid_stats s = obj.global<getppid_stats>("stats").value().get();
        std::printf("consumer counted %llu getppid calls\n", static_cast<unsigned long long>(s.calls));
        return s.calls == 42 && s.last_pid == static_cast<std::uint32_t>(::getpid()) ? 0 : 1;
    } catch (const bpfco::error_exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
