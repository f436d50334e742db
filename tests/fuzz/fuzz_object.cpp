// Arbitrary bytes as a BPF object: opening must fail with an error or succeed, never crash.
// Loading is not attempted: that would hand fuzzer output to the kernel's verifier, which is
// the kernel's own fuzzers' job, and needs root.
#include <bpfco/object.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto obj = bpfco::object::open_memory("fuzz", {reinterpret_cast<const std::byte*>(data), size});
    if (obj) {
        for (auto& p : obj.value().programs()) (void)p.section();
        (void)obj.value().map_names();
    } else {
        (void)obj.error().message.size();
    }
    return 0;
}
