#include <bpfco/bpfco.hpp>

#include "getppid_count.bpf.skel.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>

int main() {
    auto obj = bpfco::object::load_skeleton("getppid_count", getppid_count_bpf__elf_bytes);
    if (!obj) {
        std::fprintf(stderr, "%s\n", obj.error().message.c_str());
        return 1;
    }
    auto state = obj.value().map("state").value();
    std::uint32_t k = 0;
    std::uint64_t pid = static_cast<std::uint64_t>(::getpid());
    state.update_bytes(&k, &pid, bpfco::update_flags::any).value();
    auto link = obj.value().program("on_getppid").value().attach().value();
    for (int i = 0; i < 42; ++i) ::getppid();
    k = 1;
    std::uint64_t n = 0;
    state.lookup_bytes(&k, &n).value();
    std::printf("consumer counted %llu getppid calls\n", static_cast<unsigned long long>(n));
    return n == 42 ? 0 : 1;
}
