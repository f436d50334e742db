// The analysis layer's pure logic: histogram math and printing, demangling, folded
// lines, and user-space symbolization of this very process (no BPF, no privilege).
#include "support.hpp"

#include <linux/types.h>
extern "C" {
#include <bpfco/histogram_slot.h>
}

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <limits>

using namespace bpfco;

extern "C" __attribute__((noinline)) int bpfco_unit_marker(int x) {
    asm volatile("" ::: "memory");  // keeps the function and its body
    return x * 3 + 1;
}

TEST_CASE("log2 and linear slots agree between the BPF helper and C++") {
    std::vector<std::uint64_t> values{0, 1, 2, 3, 4, 5, 7, 8, 1023, 1024, 1025, 4095, 4096};
    for (int b = 0; b < 64; ++b) {
        const std::uint64_t p = std::uint64_t{1} << b;
        values.insert(values.end(), {p - 1, p, p + 1});
    }
    values.push_back(std::numeric_limits<std::uint64_t>::max());
    for (auto v : values) {
        CAPTURE(v);
        CHECK(bpfco_log2_slot(v) == histogram::log2_slot(v));
        CHECK(bpfco_linear_slot(v, 10, 7, 20) == histogram::linear_slot(v, 10, 7, 20));
    }
    CHECK(histogram::log2_slot(0) == 0);
    CHECK(histogram::log2_slot(1) == 1);
    CHECK(histogram::log2_slot(2) == 2);
    CHECK(histogram::log2_slot(3) == 2);
    CHECK(histogram::log2_slot(64) == 7);
    CHECK(histogram::log2_slot(127) == 7);
    CHECK(histogram::log2_slot(std::numeric_limits<std::uint64_t>::max()) == 64);
    CHECK(histogram::linear_slot(5, 10, 7, 20) == 0);    // below min: first slot
    CHECK(histogram::linear_slot(16, 10, 7, 20) == 0);
    CHECK(histogram::linear_slot(17, 10, 7, 20) == 1);
    CHECK(histogram::linear_slot(1000, 10, 7, 20) == 19);  // above: last slot
}

TEST_CASE("log2 buckets, total and printing") {
    // slot:        0  1  2  3  4  5  6  7
    auto h = histogram::log2({0, 0, 1, 0, 4, 0, 0, 2, 0, 0});
    CHECK(h.total() == 7);
    CHECK(h.bucket(0).low == 0);
    CHECK(h.bucket(0).high == 1);
    CHECK(h.bucket(1).low == 1);
    CHECK(h.bucket(1).high == 2);
    CHECK(h.bucket(7).low == 64);
    CHECK(h.bucket(7).high == 128);
    CHECK(h.bucket(7).count == 2);
    // From the first to the last non-empty bucket; labels padded to the widest (9), counts to 6;
    // bars scaled to 52 for the largest count (4): 1 -> 13, 2 -> 26.
    const std::string expected =
        "[2, 4)         1 |@@@@@@@@@@@@@                                       |\n"
        "[4, 8)         0 |                                                    |\n"
        "[8, 16)        4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "[16, 32)       0 |                                                    |\n"
        "[32, 64)       0 |                                                    |\n"
        "[64, 128)      2 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n";
    CHECK(h.to_string() == expected);
    CHECK(fmt::format("{}", h) == expected);
    CHECK(histogram::log2({}).to_string().empty());
    CHECK(histogram::log2({0, 0}).to_string().empty());
}

TEST_CASE("log2 labels: exact values and K/M suffixes") {
    std::vector<std::uint64_t> c(22, 0);
    c[0] = 1;   // [0]
    c[1] = 1;   // [1]
    c[11] = 3;  // [1024, 2048) -> [1K, 2K)
    c[21] = 1234567;  // [1M, 2M); the widest label is [128K, 256K)
    const auto s = histogram::log2(c).to_string();
    CHECK(s.starts_with("[0] "));
    CHECK(s.find("\n[1] ") != std::string::npos);
    CHECK(s.find("\n[1K, 2K) ") != std::string::npos);
    CHECK(s.find("\n[512, 1K) ") != std::string::npos);
    CHECK(s.find("\n[1M, 2M)     1234567 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n") != std::string::npos);
}

TEST_CASE("linear buckets and printing") {
    auto h = histogram::linear({1, 0, 2, 1}, 100, 50);
    CHECK(h.bucket(1).low == 150);
    CHECK(h.bucket(1).high == 200);
    CHECK(h.bucket(3).low == 250);
    CHECK(h.bucket(3).high == std::numeric_limits<std::uint64_t>::max());
    const std::string expected =
        "[100, 150)      1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
        "[150, 200)      0 |                                                    |\n"
        "[200, 250)      2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "[250, ...)      1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n";
    CHECK(h.to_string() == expected);
}

TEST_CASE("percentiles interpolate inside the bucket holding the rank") {
    // 10 values in [8, 16), 10 in [16, 32).
    std::vector<std::uint64_t> c(6, 0);
    c[4] = 10;
    c[5] = 10;
    auto h = histogram::log2(c);
    CHECK(h.percentile(0) == doctest::Approx(8));
    CHECK(h.percentile(25) == doctest::Approx(12));   // rank 5 of 10 in [8,16): 8 + 8*5/10
    CHECK(h.percentile(50) == doctest::Approx(16));   // rank 10: the end of [8,16)
    CHECK(h.percentile(75) == doctest::Approx(24));   // rank 15: 16 + 16*5/10
    CHECK(h.percentile(100) == doctest::Approx(32));
    CHECK(histogram::log2({}).percentile(50) == 0);
    auto lin = histogram::linear({0, 4}, 0, 10);  // last bucket open-ended: one step wide
    CHECK(lin.percentile(50) == doctest::Approx(15));
}

TEST_CASE("demangling and frame names") {
    CHECK(demangle("_ZN3foo3barEi") == "foo::bar(int)");
    CHECK(demangle("main") == "main");
    CHECK(demangle("_Znot_really_mangled") == "_Znot_really_mangled");
    frame known{0x1010, "foo", 0x10, "/bin/x"};
    CHECK(known.name() == "foo+0x10");
    CHECK(to_string(known) == "foo+0x10 [/bin/x]");
    frame unknown{0xdeadbeef, {}, 0, {}};
    CHECK(unknown.name() == "0xdeadbeef");
    CHECK(fmt::format("{}", unknown) == "0xdeadbeef");
}

TEST_CASE("folded stack lines put the root first") {
    std::vector<frame> user{{1, "leaf", 3, "a"}, {2, "main", 0, "a"}, {3, "", 0, ""}};
    std::vector<frame> kernel{{4, "clear_user", 0, "kernel"}, {5, "entry;SYSCALL", 0, "kernel"}};
    CHECK(folded_line("my comm", user, kernel, 42) == "my comm;0x3;main;leaf;entry:SYSCALL;clear_user 42");
    CHECK(folded_line("idle", {}, kernel, 1) == "idle;entry:SYSCALL;clear_user 1");
}

TEST_CASE("user addresses in this process symbolize, in the binary and in shared libraries") {
    symbolizer sym;
    const pid_t self = ::getpid();

    // The test binary itself (PIE: the file offset goes through its program headers).
    auto marker = reinterpret_cast<std::uint64_t>(&bpfco_unit_marker);
    auto f = sym.user(self, marker + 2);
    CHECK(f.symbol == "bpfco_unit_marker");
    CHECK(f.offset == 2);
    CHECK(f.module.find("test_analysis_unit") != std::string::npos);

    // libc, through dlsym: the public name wins over its __ aliases.
    auto getpid_addr = reinterpret_cast<std::uint64_t>(::dlsym(RTLD_DEFAULT, "getpid"));
    REQUIRE(getpid_addr != 0);
    f = sym.user(self, getpid_addr);
    CHECK(f.symbol == "getpid");
    CHECK(f.offset == 0);
    CHECK(f.module.find("libc") != std::string::npos);

    // libstdc++, demangled.
    auto now = reinterpret_cast<std::uint64_t>(::dlsym(RTLD_DEFAULT, "_ZNSt6chrono3_V212steady_clock3nowEv"));
    REQUIRE(now != 0);
    f = sym.user(self, now + 1);
    CHECK(f.symbol == "std::chrono::_V2::steady_clock::now()");
    CHECK(f.offset == 1);
    CHECK(f.module.find("libstdc++") != std::string::npos);
    MESSAGE(to_string(f));
}

TEST_CASE("addresses with no symbol print as hex and never crash") {
    symbolizer sym;
    const pid_t self = ::getpid();
    auto f = sym.user(self, 0x1000);  // never mapped
    CHECK(!f.known());
    CHECK(to_string(f) == "0x1000");
    int* heap = new int(1);  // mapped, but not executable code
    auto addr = reinterpret_cast<std::uint64_t>(heap);
    CHECK(sym.user(self, addr).name() == fmt::format("0x{:x}", addr));
    delete heap;
    CHECK(!sym.user(-5, 0x401000).known());  // no such process
    CHECK(!sym.user(self, std::numeric_limits<std::uint64_t>::max()).known());
    CHECK(sym.user_stack(self, std::vector<std::uint64_t>{0x1000, 0x2000}).size() == 2);
}
