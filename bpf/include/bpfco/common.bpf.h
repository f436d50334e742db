/* Shared by bpfco's BPF C programs: vmlinux types, libbpf helpers, and small conveniences. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* The process id user space calls pid (the kernel's tgid). */
static __always_inline __u32 bpfco_current_pid(void) { return bpf_get_current_pid_tgid() >> 32; }

/* Keeps `struct name` in the object's BTF when the program uses it only through pointers (ring
 * buffer records: clang emits no BTF for those), so that the generated C++ header defines it and
 * user space can check a C++ mirror against it at set-up (object::check_layout<T>()). Costs one
 * 8-byte .bss variable. */
#define BPFCO_RECORD_TYPE(name) struct name *bpfco_record_##name __attribute__((unused))

/* Declares that the records of ring buffer or perf buffer `map` are `struct type` (and keeps the
 * struct in BTF, as BPFCO_RECORD_TYPE does): the generated header names the pair
 * (<object>::maps::map), and object::ring_buffer<T>() / perf_buffer<T>() check any T against
 * this struct, whatever T is called. Costs one 8-byte .bss variable. */
#define BPFCO_MAP_RECORD(map, type) struct type *bpfco_map_record__##map __attribute__((unused))
