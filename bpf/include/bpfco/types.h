/* Fixed-width types for a struct that BPF C and C++ share: include <bpfco/types.h>, declare the
 * struct once in a header of your own, and include that header from both sides.
 *
 *     #include <bpfco/types.h>
 *     struct exec_event { bpfco_u64 ts_ns; bpfco_u32 pid; char comm[16]; };
 *
 * In BPF C (clang -target bpf defines __BPF__) the types are vmlinux.h's __u64 ...; in C and
 * C++ they are <stdint.h>'s, so no <linux/types.h> is needed on the user-space side. The C++
 * side can then check its view of the struct against the object's BTF at set-up
 * (object::check_layout<exec_event>(), object::ring_buffer<exec_event>(...)). */
#pragma once

#ifdef __BPF__
#include "vmlinux.h"
typedef __u8 bpfco_u8;
typedef __u16 bpfco_u16;
typedef __u32 bpfco_u32;
typedef __u64 bpfco_u64;
typedef __s32 bpfco_s32;
typedef __s64 bpfco_s64;
#else
#include <stdint.h>
typedef uint8_t bpfco_u8;
typedef uint16_t bpfco_u16;
typedef uint32_t bpfco_u32;
typedef uint64_t bpfco_u64;
typedef int32_t bpfco_s32;
typedef int64_t bpfco_s64;
#endif
