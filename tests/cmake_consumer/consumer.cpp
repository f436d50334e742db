// Loads its skeleton through the installed bpfco, makes 37 getpgid calls and expects the BPF
// program to have counted exactly those.
#include <bpfco/bpfco.hpp>

#include "getpgid_count.bpf.skel.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>

int main() {
    auto obj = bpfco::object::load_skeleton("getpgid_count", getpgid_count_bpf__elf_bytes);
    if (!obj) {
        std::fprintf(stderr, "%s\n", obj.error().message.c_str());
        return 1;
    }
    auto state = obj.value().map("state").value();
    std::uint32_t k = 0;
    std::uint64_t pid = static_cast<std::uint64_t>(::getpid());
    state.insert_bytes(&k, &pid, bpfco::update_flags::any).value();
    auto link = obj.value().program("on_getpgid").value().attach().value();
    for (int i = 0; i < 37; ++i) ::getpgid(0);
    k = 1;
    std::uint64_t n = 0;
    state.lookup_bytes(&k, &n).value();
    std::printf("cmake consumer (bpfco %.*s) counted %llu getpgid calls\n",
                static_cast<int>(bpfco::version().size()), bpfco::version().data(),
                static_cast<unsigned long long>(n));
    return n == 37 ? 0 : 1;
}
