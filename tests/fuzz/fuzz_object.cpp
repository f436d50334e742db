// Arbitrary bytes as a BPF object: the validation before libbpf (src/loader/elf_check.cpp) on its own,
// then opening, which runs it again and hands what it accepts to libbpf; each must fail with an
// error or succeed, never crash. Loading is not attempted: that would hand fuzzer output to the
// kernel's verifier, which is the kernel's own fuzzers' job, and needs root.
#include <bpfco/loader/object.hpp>

#include "../../src/loader/elf_check.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    (void)bpfco::detail::elf_problem(bytes, "fuzz").size();
    auto obj = bpfco::object::open_memory("fuzz", bytes);
    if (obj) {
        for (auto& p : obj.value().programs()) (void)p.section();
        (void)obj.value().map_names();
    } else {
        (void)obj.error().message.size();
    }
    return 0;
}
