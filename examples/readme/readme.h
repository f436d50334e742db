/* Shared by readme.bpf.c and readme.cpp: one declaration, fixed-width types for both sides. */
#pragma once

#include <bpfco/types.h>

struct exec_event {
    bpfco_u32 pid;
    bpfco_u32 uid;
    char comm[16];
};
