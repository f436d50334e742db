#include <bpfco/analysis/histogram.hpp>
#include <bpfco/cpus.hpp>

#include <bpf/bpf.h>

#include <algorithm>
#include <array>
#include <numeric>

namespace bpfco {

namespace {

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
constexpr std::size_t bar_width = 52;

// 1024 -> "1K", 3072 -> "3K", 1000 -> "1000": bpftrace's suffixes for exact multiples of 1024.
std::string short_number(std::uint64_t v) {
    static constexpr std::array<char, 6> suffix{'K', 'M', 'G', 'T', 'P', 'E'};
    int i = -1;
    while (v != 0 && v % 1024 == 0 && i + 1 < static_cast<int>(suffix.size())) {
        v /= 1024;
        ++i;
    }
    return i < 0 ? fmt::format("{}", v) : fmt::format("{}{}", v, suffix[static_cast<std::size_t>(i)]);
}

result<std::vector<std::uint64_t>> read_u64_slots(const map& m) {
    static constexpr std::array<map_type, 2> types{map_type::array, map_type::percpu_array};
    BPFCO_TRY(m.check(types, sizeof(std::uint32_t), sizeof(std::uint64_t)));
    const bool per_cpu = m.info().type == map_type::percpu_array;
    std::size_t cpus = 1;
    if (per_cpu) {
        auto n = possible_cpus();
        if (!n) return failure(n.error());
        cpus = n.value();
    }
    std::vector<std::uint64_t> counts(m.info().max_entries);
    std::vector<std::uint64_t> value(cpus);
    for (std::uint32_t slot = 0; slot < counts.size(); ++slot) {
        BPFCO_TRY(auto found, m.lookup_bytes(&slot, value.data()));
        if (found) counts[slot] = std::accumulate(value.begin(), value.end(), std::uint64_t{0});
    }
    return counts;
}

}  // namespace

histogram histogram::log2(std::vector<std::uint64_t> counts) {
    return histogram(kind::log2, std::move(counts), 0, 1);
}

histogram histogram::linear(std::vector<std::uint64_t> counts, std::uint64_t min, std::uint64_t step) {
    return histogram(kind::linear, std::move(counts), min, step == 0 ? 1 : step);
}

result<histogram> histogram::read_log2(const map& m) {
    BPFCO_TRY(auto counts, read_u64_slots(m));
    return log2(std::move(counts));
}

result<histogram> histogram::read_linear(const map& m, std::uint64_t min, std::uint64_t step) {
    BPFCO_TRY(auto counts, read_u64_slots(m));
    return linear(std::move(counts), min, step);
}

histogram_bucket histogram::bucket(std::size_t slot) const noexcept {
    const std::uint64_t count = slot < counts_.size() ? counts_[slot] : 0;
    if (kind_ == kind::log2) {
        if (slot == 0) return {0, 1, count};
        const std::uint64_t low = std::uint64_t{1} << (slot - 1);
        return {low, slot >= 64 ? u64_max : low << 1, count};
    }
    const std::uint64_t low = min_ + slot * step_;
    const bool last = slot + 1 >= counts_.size();
    return {low, last ? u64_max : low + step_, count};
}

std::uint64_t histogram::total() const noexcept {
    return std::accumulate(counts_.begin(), counts_.end(), std::uint64_t{0});
}

double histogram::percentile(double p) const noexcept {
    const std::uint64_t n = total();
    if (n == 0) return 0;
    const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(n);
    double below = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        const auto b = bucket(i);
        if (b.count == 0) continue;
        if (below + static_cast<double>(b.count) >= rank) {
            // The open-ended last linear bucket is taken as one step wide.
            const double width = b.high == u64_max ? static_cast<double>(step_) : static_cast<double>(b.high - b.low);
            return static_cast<double>(b.low) + width * (rank - below) / static_cast<double>(b.count);
        }
        below += static_cast<double>(b.count);
    }
    return static_cast<double>(bucket(counts_.size() - 1).low);
}

std::string histogram::to_string() const {
    auto first = std::find_if(counts_.begin(), counts_.end(), [](auto c) { return c != 0; });
    if (first == counts_.end()) return {};
    const auto last = std::find_if(counts_.rbegin(), counts_.rend(), [](auto c) { return c != 0; }).base();
    const std::size_t lo = static_cast<std::size_t>(first - counts_.begin());
    const std::size_t hi = static_cast<std::size_t>(last - counts_.begin());

    std::vector<std::string> labels;
    for (std::size_t i = lo; i < hi; ++i) {
        const auto b = bucket(i);
        if (b.high == u64_max)
            labels.push_back(fmt::format("[{}, ...)", short_number(b.low)));
        else if (b.high - b.low == 1)
            labels.push_back(fmt::format("[{}]", short_number(b.low)));
        else
            labels.push_back(fmt::format("[{}, {})", short_number(b.low), short_number(b.high)));
    }
    std::size_t label_width = 0;
    for (const auto& l : labels) label_width = std::max(label_width, l.size());
    const std::uint64_t max = *std::max_element(first, last);
    const std::size_t count_width = std::max<std::size_t>(fmt::formatted_size("{}", max), 6);

    std::string out;
    for (std::size_t i = lo; i < hi; ++i) {
        const std::size_t bar = static_cast<std::size_t>(counts_[i] * bar_width / max);
        fmt::format_to(std::back_inserter(out), "{:<{}} {:>{}} |{:<{}}|\n", labels[i - lo], label_width,
                       counts_[i], count_width, std::string(bar, '@'), bar_width);
    }
    return out;
}

}  // namespace bpfco
