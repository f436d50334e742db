// BPF_PROG_TEST_RUN: runs a program in the kernel on given input, without traffic or events.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/loader/program.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bpfco {

/// Input of one BPF_PROG_TEST_RUN.
struct test_run_options {
    std::span<const std::byte> data_in{}; ///< packet bytes (XDP, TC)
    std::size_t data_out_size = 0;        ///< room for the packet after the program ran
    std::span<const std::byte> ctx_in{};  ///< context (raw tracepoint args, ...)
    std::uint32_t repeat = 1;             ///< runs; duration is their average
    std::uint32_t flags = 0;              ///< BPF_F_TEST_RUN_ON_CPU, ...
    std::uint32_t cpu = 0;                ///< with BPF_F_TEST_RUN_ON_CPU: where to run
};

/// What one BPF_PROG_TEST_RUN returned.
struct test_run_result {
    std::uint32_t return_value = 0;       ///< e.g. XDP_PASS / XDP_DROP
    std::chrono::nanoseconds duration{};  ///< the kernel's average per repeat
    std::vector<std::byte> data_out;      ///< the packet as the program left it (data_out_size at most)
};

/// Runs prog once (or `repeat` times) in the kernel on the given input, without traffic or
/// events. Fails with the kernel's errno and a message naming the program when the kernel
/// refuses (EPERM/EACCES also name the capabilities needed). Thread-safe: each call is one
/// syscall on the program's fd.
result<test_run_result> test_run(const program& prog, const test_run_options& options = {});

}  // namespace bpfco
