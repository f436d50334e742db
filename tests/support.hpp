// What every kernel test shares: skipping with a printed reason, fd-leak checks, and checks that
// the kernel no longer lists the programs, maps and links a test made.
#pragma once

#include <bpfco/bpfco.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bpfco::testing {

/// Prints "SKIPPED: <test>: <why>" so that the reason shows in the test log.
void skip(const std::string& why);

/// Skips the current test case (returns from it) unless running as root.
#define BPFCO_REQUIRE_ROOT()                                                                    \
    do {                                                                                        \
        if (!::bpfco::testing::is_root()) {                                                     \
            ::bpfco::testing::skip("needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)");         \
            return;                                                                             \
        }                                                                                       \
    } while (0)

bool is_root();

/// Open fds of this process.
int open_fd_count();

/// Checks at scope exit that no fd opened inside the scope is still open.
class fd_leak_check {
public:
    fd_leak_check() : before_(open_fd_count()) {}
    ~fd_leak_check() { CHECK_MESSAGE(open_fd_count() == before_, "file descriptors leaked"); }
    fd_leak_check(const fd_leak_check&) = delete;
    fd_leak_check& operator=(const fd_leak_check&) = delete;

private:
    int before_;
};

/// Kernel object ids (BPF_*_GET_NEXT_ID), to assert that what a test made is gone afterwards.
struct kernel_ids {
    std::vector<std::uint32_t> progs, maps, links;
};
kernel_ids list_kernel_ids();
/// The ids in `after` that are not in `before`.
kernel_ids new_ids(const kernel_ids& before, const kernel_ids& after);
/// Waits (up to 2 s: the kernel frees some objects after an RCU grace period) until none of `ids`
/// is listed any more; returns the ones still listed.
kernel_ids wait_gone(const kernel_ids& ids);

/// The ids of the programs, maps and links this process holds an fd to (from /proc/self/fdinfo).
/// Unlike a before/after diff of everything the kernel lists, other processes' objects (other
/// test runs on the same machine) do not show up.
kernel_ids own_ids();

/// Runs a shell command, returns its exit status; output goes to the test log.
int run(const std::string& command);
/// Runs a shell command and returns its standard output.
std::string output_of(const std::string& command);

/// The whole object file a bpftool skeleton embeds, as bytes.
template <class ElfBytes>
std::span<const std::byte> elf_of(ElfBytes f) {
    std::size_t n = 0;
    const void* p = f(&n);
    return {static_cast<const std::byte*>(p), n};
}

}  // namespace bpfco::testing
