#include <bpfco/per_cpu.hpp>

#include <bpf/libbpf.h>

namespace bpfco {

result<std::size_t> possible_cpus() {
    // libbpf caches the count itself but returns a negative errno when
    // /sys/devices/system/cpu/possible cannot be read.
    int n = libbpf_num_possible_cpus();
    if (n <= 0) return failure(-n, "cannot read the possible CPUs from /sys/devices/system/cpu/possible");
    return static_cast<std::size_t>(n);
}

}  // namespace bpfco
