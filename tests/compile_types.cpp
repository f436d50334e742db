// The generated header makes a wrong type a compile error. tests/meson.build compiles this file
// twice: as is (the control: it must compile, so the failure below cannot come from elsewhere)
// and with BPFCO_WRONG_TYPE, which must not compile (test generated_types_compile_fail).
#include "gentypes_test.bpf.types.hpp"

int main() {
    bpfco::object obj;
#ifdef BPFCO_WRONG_TYPE
    // `packets` is a __u64: the generated global_var<std::uint64_t> gives no global<double>.
    bpfco::result<bpfco::global<double>> g = obj.global(gentypes_test::globals::packets);
#else
    bpfco::result<bpfco::global<std::uint64_t>> g = obj.global(gentypes_test::globals::packets);
#endif
    return g ? 0 : 1;
}
