#include <bpfco/bpfco.hpp>

#include "tool.bpf.types.hpp"  // generated from tool.bpf.c's BTF: tool::getppid_stats, tool::globals
#include "tool.bpf.skel.h"     // after the types: it names the struct global's type

#include <unistd.h>

#include <cstdint>
#include <cstdio>

int main() {
    try {
        auto obj = bpfco::object::open_skeleton("tool", tool_bpf__elf_bytes).value();
        obj.global(tool::globals::target_pid).value().set(static_cast<std::uint32_t>(::getpid())).value();
        obj.load().value();
        auto link = obj.program("on_getppid").value().attach().value();
        for (int i = 0; i < 42; ++i) ::getppid();
        // A struct global of the generated type (its layout is checked against the BTF here too).
        const tool::getppid_stats s = obj.global(tool::globals::stats).value().get();
        std::printf("consumer counted %llu getppid calls\n", static_cast<unsigned long long>(s.calls));
        return s.calls == 42 && s.last_pid == static_cast<std::uint32_t>(::getpid()) ? 0 : 1;
    } catch (const bpfco::error_exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
