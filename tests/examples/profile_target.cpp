// A process for the profiler to find: for the given seconds it spends about three quarters of
// its time in bpfco_users_hot and one quarter in bpfco_users_cold, both called from main.
// Built with frame pointers so that its user stacks unwind.
#include <chrono>
#include <cstdint>
#include <cstdlib>

extern "C" __attribute__((noinline)) std::uint64_t bpfco_users_hot(std::uint64_t n) {
    std::uint64_t x = n;
    for (std::uint64_t i = 0; i < n; ++i) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        asm volatile("" : "+r"(x));  // keeps the loop
    }
    return x;
}

extern "C" __attribute__((noinline)) std::uint64_t bpfco_users_cold(std::uint64_t n) {
    std::uint64_t x = n;
    for (std::uint64_t i = 0; i < n; ++i) {
        x = x * 2862933555777941757u + 3037000493u;
        asm volatile("" : "+r"(x));
    }
    return x;
}

int main(int argc, char** argv) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(argc > 1 ? std::atoi(argv[1]) : 5);
    std::uint64_t sink = 0;
    while (std::chrono::steady_clock::now() < until) {
        sink += bpfco_users_hot(3'000'000);
        sink += bpfco_users_cold(1'000'000);
    }
    return static_cast<int>(sink & 1) * 0;
}
