/* Shared by bpf/profile.bpf.c and its C++ readers (examples/profile, tests): plain C with
 * fixed-width types; the includer provides __u32/__s32 (vmlinux.h or <linux/types.h>). */
#pragma once

#define PROFILE_COMM_LEN 16
/* The kernel's PERF_MAX_STACK_DEPTH: the most frames bpf_get_stackid stores. */
#define PROFILE_MAX_DEPTH 127
/* A stack id meaning "not collected" (--kernel-only/--user-only); bpf_get_stackid's own errors
 * are other negative numbers (-EFAULT: no stack of that kind, e.g. no kernel stack for a sample
 * taken in user mode; -EEXIST/-ENOMEM: the stack map is full). */
#define PROFILE_STACK_SKIPPED -1

struct profile_key {
    __u32 pid;
    __s32 kernel_stack;
    __s32 user_stack;
    char comm[PROFILE_COMM_LEN];
};

struct profile_config {
    __u32 pid; /* 0: every process */
    __u32 kernel_stacks;
    __u32 user_stacks;
};

/* Slots of the `totals` array. */
enum profile_total { PROFILE_SAMPLES = 0, PROFILE_DROPPED = 1, PROFILE_TOTALS = 2 };
