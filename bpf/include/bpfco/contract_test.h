/* The record of bpf/contract_test.bpf.c, shared with tests/test_contract.cpp. */
#pragma once

#include <bpfco/types.h>

struct bpfco_contract_event {
    bpfco_u64 seq;
    bpfco_u32 pid;
    bpfco_u32 step;
    char comm[16];
};
