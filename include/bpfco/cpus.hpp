// CPU lists: the one place that reads which CPUs exist and which are online.
#pragma once

#include <bpfco/error.hpp>

#include <cstddef>
#include <string_view>
#include <vector>

namespace bpfco {

/// The CPUs in a kernel CPU list ("0-3,5,7-8", with or without the trailing newline the kernel
/// writes), in ascending order. Strict: an empty list, a reversed range ("3-1"), items out of
/// order or repeated, anything but digits, '-' and ',', or a CPU number above 65535 is an error
/// naming the list and the reason.
result<std::vector<int>> parse_cpu_list(std::string_view list);

/// The online CPUs, from /sys/devices/system/cpu/online; an error names the file and the reason.
result<std::vector<int>> online_cpus();

/// The number of possible CPUs, from /sys/devices/system/cpu/possible: the number of values a
/// per-CPU map holds per key. Read once and cached; an error names the file and the reason.
/// Thread-safe.
result<std::size_t> possible_cpus();

}  // namespace bpfco
