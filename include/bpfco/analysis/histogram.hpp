// Histograms counted in BPF (bpf/include/bpfco/histogram.bpf.h) and read back from an array or
// per-CPU array of u64 buckets: log2 (power-of-two buckets, as bcc's and bpftrace's hist()) or
// linear (fixed-width buckets, as bpftrace's lhist()). Printed the way bpftrace prints them.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/maps/map.hpp>

#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace bpfco {

/// One bucket: the values in [low, high) were seen `count` times. The last linear bucket also
/// holds everything above it (high is then the u64 maximum), as the BPF helper clamps.
struct histogram_bucket {
    std::uint64_t low = 0;    ///< smallest value of the bucket
    std::uint64_t high = 0;   ///< one past the largest value (u64 maximum for the open last bucket)
    std::uint64_t count = 0;  ///< how often a value in [low, high) was seen
};

/// Bucket counts of a log2 or linear histogram, with their ranges, percentiles and bpftrace's
/// printed layout. A value type: copies are independent; const members are safe to call from
/// several threads at once.
class histogram {
public:
    /// How values map to buckets.
    enum class kind {
        log2,   ///< slot 0 holds 0, slot k >= 1 holds [2^(k-1), 2^k)
        linear, ///< fixed-width buckets from a minimum
    };

    /// Slot of a value in a log2 histogram: 0 holds 0, slot k >= 1 holds [2^(k-1), 2^k),
    /// so a u64 needs 65 slots. The BPF helper computes the same (a unit test checks it).
    static constexpr std::uint32_t log2_slot(std::uint64_t v) noexcept {
        return static_cast<std::uint32_t>(std::bit_width(v));
    }
    /// Slot of a value in a linear histogram of `slots` buckets of width `step` from `min`;
    /// values outside are clamped into the first or last slot.
    static constexpr std::uint32_t linear_slot(std::uint64_t v, std::uint64_t min, std::uint64_t step,
                                               std::uint32_t slots) noexcept {
        if (v < min || step == 0 || slots == 0) return 0;
        const std::uint64_t s = (v - min) / step;
        return s >= slots ? slots - 1 : static_cast<std::uint32_t>(s);
    }

    /// An empty log2 histogram.
    histogram() = default;
    /// A log2 histogram over counts already read (counts[k] is slot k).
    static histogram log2(std::vector<std::uint64_t> counts);
    /// A linear histogram: counts[k] holds [min + k * step, min + (k + 1) * step); the last
    /// bucket also holds everything above. step == 0 is treated as 1, so that no bucket is
    /// empty of meaning.
    static histogram linear(std::vector<std::uint64_t> counts, std::uint64_t min, std::uint64_t step);

    /// Reads the buckets from a BPF_MAP_TYPE_ARRAY or PERCPU_ARRAY with u32 keys and u64 values
    /// (per-CPU slots are summed over every possible CPU). Fails, naming the map, when it is
    /// not such an array (type, key or value size), or when a lookup fails.
    static result<histogram> read_log2(const map& m);
    /// The same for a linear histogram counted with bpfco_linear_slot(min, step).
    static result<histogram> read_linear(const map& m, std::uint64_t min, std::uint64_t step);

    /// log2 or linear.
    kind type() const noexcept { return kind_; }
    /// The raw count of each slot.
    const std::vector<std::uint64_t>& counts() const noexcept { return counts_; }
    /// The range and count of one slot (slot < size()).
    histogram_bucket bucket(std::size_t slot) const noexcept;
    /// Number of slots.
    std::size_t size() const noexcept { return counts_.size(); }
    /// Sum of all counts.
    std::uint64_t total() const noexcept;

    /// An estimate of the p-th percentile (0 <= p <= 100): the bucket holding that rank, with
    /// the values assumed spread evenly across it. 0 for an empty histogram.
    double percentile(double p) const noexcept;

    /// bpftrace's layout: one line per bucket from the first to the last non-empty one,
    /// `[64, 128)    12 |@@@@@@     |`, with K/M/G/T suffixes for multiples of 1024 and a bar
    /// of 52 characters for the largest bucket. Empty string for an empty histogram.
    std::string to_string() const;

private:
    histogram(kind k, std::vector<std::uint64_t> counts, std::uint64_t min, std::uint64_t step)
        : kind_(k), counts_(std::move(counts)), min_(min), step_(step) {}
    kind kind_ = kind::log2;
    std::vector<std::uint64_t> counts_;
    std::uint64_t min_ = 0;
    std::uint64_t step_ = 1;
};

}  // namespace bpfco

// Doxygen cannot place a specialisation declared outside namespace fmt: kept out of the reference.
/// \cond
template <>
struct fmt::formatter<bpfco::histogram> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(const bpfco::histogram& h, FormatContext& ctx) const {
        return fmt::formatter<std::string_view>::format(h.to_string(), ctx);
    }
};
/// \endcond
