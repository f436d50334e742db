// Our own input validation before libbpf sees the bytes of a BPF object. libbpf 1.1 trusts its
// input in places (fuzz_object found null dereferences, a null strcmp and an endless loop), so
// these checks refuse what libbpf would use and could crash on, and nothing else: an object that
// libbpf would open must still open.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace bpfco::detail {

/// What is wrong with `elf` as a BPF object, or empty when libbpf may have it. `name` is only for
/// the BPFCO_DEBUG log (what was tolerated and why).
std::string elf_problem(std::span<const std::byte> elf, std::string_view name);

}  // namespace bpfco::detail
