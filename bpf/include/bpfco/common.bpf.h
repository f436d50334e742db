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
 * buffer records: clang emits no BTF for those), so that user space can check its C++ mirror
 * against it at set-up (object::ring_buffer<T>()). Costs one 8-byte .bss variable. */
#define BPFCO_RECORD_TYPE(name) struct name *bpfco_record_##name __attribute__((unused))
