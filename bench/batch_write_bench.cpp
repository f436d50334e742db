// Writes and deletes 100,000 hash entries by batch (BPF_MAP_UPDATE_BATCH / DELETE_BATCH) and one
// syscall per key, in the same run, on the same map. Needs root.
#include "bench_common.hpp"

#include <bpfco/bpfco.hpp>

#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace {
using clock_type = std::chrono::steady_clock;
using view = bpfco::hash_map<std::uint32_t, std::uint64_t>;
constexpr std::uint32_t entries = 100'000;
constexpr int repeats = 5;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class F>
double rate(F&& write) {
    const auto t0 = clock_type::now();
    const std::size_t n = write().value();
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (n != entries) throw std::runtime_error(fmt::format("wrote {} entries", n));
    return n / s;
}
}  // namespace

int main() {
    if (::geteuid() != 0) {
        std::puts("SKIPPED: batch_write_bench needs root (CAP_BPF)");
        return 0;
    }
    bench::print_machine_facts();
    auto m = view::make(bpfco::map::create(bpfco::map_type::hash, "bench_batch_w", 4, 8, entries).value()).value();
    std::vector<std::uint32_t> keys(entries);
    std::vector<std::uint64_t> values(entries);
    for (std::uint32_t k = 0; k < entries; ++k) {
        keys[k] = k * 2654435761u;
        values[k] = k;
    }
    fmt::print("# {} entries, {} repeats, median; batch_ops: {}\n", entries, repeats,
               bpfco::features::batch_ops() ? "yes" : "no");
    using bpfco::write_method;
    std::vector<double> ub, up, db, dp;
    for (int r = 0; r < repeats; ++r) {
        // Each round inserts into an empty map and deletes down to empty, by both paths.
        ub.push_back(rate([&] { return m.insert_batch(keys, values, bpfco::update_flags::any, write_method::batch); }));
        db.push_back(rate([&] { return m.erase_batch(keys, write_method::batch); }));
        up.push_back(rate([&] { return m.insert_batch(keys, values, bpfco::update_flags::any, write_method::per_key); }));
        dp.push_back(rate([&] { return m.erase_batch(keys, write_method::per_key); }));
    }
    fmt::print("RESULT map_update_batch {:.0f} entries/s\n", median(ub));
    fmt::print("RESULT map_update_per_key {:.0f} entries/s\n", median(up));
    fmt::print("RATIO map_update_batch_vs_per_key {:.2f}\n", median(ub) / median(up));
    fmt::print("RESULT map_delete_batch {:.0f} entries/s\n", median(db));
    fmt::print("RESULT map_delete_per_key {:.0f} entries/s\n", median(dp));
    fmt::print("RATIO map_delete_batch_vs_per_key {:.2f}\n", median(db) / median(dp));
}
