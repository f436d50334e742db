// BPF_PROG_TEST_RUN: runs a program in the kernel on given input, without traffic or events.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/program.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bpfco {

struct test_run_options {
    std::span<const std::byte> data_in{}; ///< packet bytes (XDP, TC)
    std::size_t data_out_size = 0;        ///< room for the packet after the program ran
    std::span<const std::byte> ctx_in{};  ///< context (raw tracepoint args, ...)
    std::uint32_t repeat = 1;
    std::uint32_t flags = 0;              ///< BPF_F_TEST_RUN_ON_CPU, ...
    std::uint32_t cpu = 0;
};

struct test_run_result {
    std::uint32_t return_value = 0;       ///< e.g. XDP_PASS / XDP_DROP
    std::chrono::nanoseconds duration{};  ///< the kernel's average per repeat
    std::vector<std::byte> data_out;
};

result<test_run_result> test_run(const program& prog, const test_run_options& options = {});

}  // namespace bpfco
