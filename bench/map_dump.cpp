// Dumps a 100,000-entry hash map in place by batch lookup, by raw bpf_map_lookup_batch and by
// get-next-key + lookup in the same run, then measures what one map_watch poll of that map costs
// on each path. Needs root.
#include "bench_common.hpp"

#include <bpfco/bpfco.hpp>

#include <boost/asio/io_context.hpp>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace {
using clock_type = std::chrono::steady_clock;
using view = bpfco::hash_map<std::uint32_t, std::uint64_t>;
constexpr std::uint32_t entries = 100'000;
constexpr int repeats = 7;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Seconds of one full dump by bpfco into `out` (sized once, on the first dump, outside the
// timed windows that follow).
double dump_seconds(const view& m, bpfco::map_entries<std::uint32_t, std::uint64_t>& out, bpfco::read_method how) {
    const auto t0 = clock_type::now();
    m.read_all(out, how).value();
    const double s = seconds_since(t0);
    if (out.size() != entries) throw std::runtime_error(fmt::format("dump returned {} entries", out.size()));
    return s;
}

// The floor of any batch dump: bpf_map_lookup_batch alone, chunks of 4096 (as the cursor's),
// into arrays sized once outside the timed window, as many calls as the cursor makes.
struct raw_batch {
    std::vector<std::uint32_t> keys = std::vector<std::uint32_t>(entries + 1);
    std::vector<std::uint64_t> values = std::vector<std::uint64_t>(entries + 1);

    double dump_seconds(const view& m) {
        const int fd = m.untyped().fd();
        const auto t0 = clock_type::now();
        std::uint32_t n = 0, token = 0;
        bool started = false;
        for (;;) {
            std::uint32_t count = std::min<std::uint32_t>(4096, keys.size() - n);
            LIBBPF_OPTS(bpf_map_batch_opts, opts);
            const int rc = bpf_map_lookup_batch(fd, started ? &token : nullptr, &token, keys.data() + n,
                                                values.data() + n, &count, &opts);
            if (rc != 0 && errno != ENOENT)
                throw std::runtime_error(fmt::format("bpf_map_lookup_batch: errno {}", errno));
            started = true;
            n += count;
            if (rc != 0) break;
        }
        const double s = seconds_since(t0);
        if (n != entries) throw std::runtime_error(fmt::format("raw batch dump returned {} entries", n));
        return s;
    }
};

// Milliseconds per map_watch poll: an interval far shorter than a read makes every async_receive
// poll at once, so the time per completion is the cost of a poll (read, sort, deltas).
double poll_ms(const view& m, bpfco::read_method how, int polls) {
    boost::asio::io_context io;
    bpfco::map_watch watch(io, view::make(m.untyped().duplicate().value()).value(),
                           std::chrono::nanoseconds(1), how);
    int done = 0;
    clock_type::time_point t0;
    std::function<void(boost::system::error_code, bpfco::map_snapshot<std::uint32_t, std::uint64_t>)> next =
        [&](boost::system::error_code ec, auto snap) {
            if (ec || snap.entries.size() != entries) throw std::runtime_error("map_watch poll failed");
            if (done++ == 0) t0 = clock_type::now();  // the first completion includes the baseline
            if (done <= polls) watch.async_receive(next);
        };
    watch.async_receive(next);
    io.run();
    return seconds_since(t0) * 1000 / polls;
}
}  // namespace

int main() {
    if (::geteuid() != 0) {
        std::puts("SKIPPED: map_dump needs root (CAP_BPF)");
        return 0;
    }
    bench::print_machine_facts();
    auto m = view::make(bpfco::map::create(bpfco::map_type::hash, "bench_dump", 4, 8, entries).value()).value();
    for (std::uint32_t k = 0; k < entries; ++k) m.insert(k * 2654435761u, k).value();
    fmt::print("# {} entries, {} repeats, median; batch_ops: {}\n", entries, repeats,
               bpfco::features::batch_ops() ? "yes" : "no");

    // Both batch sides read into storage they sized once before the timed windows. Within a
    // repeat they take turns dump by dump (A B B A ...: neither always goes first, which alone
    // moved the ratio by 5-10 % in windows taken one side after the other), until each has dumped
    // for at least 100 ms; load on the machine then falls on both alike. The ratio is the median
    // of the repeats' ratios. The per-key side is slow enough for one dump per repeat.
    bpfco::map_entries<std::uint32_t, std::uint64_t> out;
    raw_batch raw_side;
    dump_seconds(m, out, bpfco::read_method::batch);
    raw_side.dump_seconds(m);
    std::vector<double> batch, raw, ratio, per_key;
    for (int r = 0; r < repeats; ++r) {
        double secs_b = 0, secs_r = 0;
        int dumps = 0;
        for (; secs_b < 0.1 || secs_r < 0.1; ++dumps) {
            const bool bpfco_first = dumps % 2 == 0;
            if (bpfco_first) secs_b += dump_seconds(m, out, bpfco::read_method::batch);
            secs_r += raw_side.dump_seconds(m);
            if (!bpfco_first) secs_b += dump_seconds(m, out, bpfco::read_method::batch);
        }
        batch.push_back(double(dumps) * entries / secs_b);
        raw.push_back(double(dumps) * entries / secs_r);
        ratio.push_back(secs_r / secs_b);
    }
    for (int r = 0; r < repeats; ++r) per_key.push_back(entries / dump_seconds(m, out, bpfco::read_method::per_key));
    const double b = median(batch), rb = median(raw), p = median(per_key);
    fmt::print("RESULT map_dump_batch {:.0f} entries/s\n", b);
    fmt::print("RESULT map_dump_raw_batch {:.0f} entries/s\n", rb);
    fmt::print("RESULT map_dump_per_key {:.0f} entries/s\n", p);
    fmt::print("RATIO map_dump_batch_vs_per_key {:.2f}\n", b / p);
    fmt::print("RATIO map_dump_vs_raw_batch {:.3f}\n", median(ratio));

    std::vector<double> poll_batch, poll_per_key;
    for (int r = 0; r < repeats; ++r) {
        poll_batch.push_back(poll_ms(m, bpfco::read_method::batch, 10));
        poll_per_key.push_back(poll_ms(m, bpfco::read_method::per_key, 2));
    }
    const double wb = median(poll_batch), wp = median(poll_per_key);
    fmt::print("RESULT map_watch_poll_batch {:.2f} ms/poll\n", wb);
    fmt::print("RESULT map_watch_poll_per_key {:.2f} ms/poll\n", wp);
    fmt::print("RATIO map_watch_poll_per_key_vs_batch {:.2f}\n", wp / wb);
}
