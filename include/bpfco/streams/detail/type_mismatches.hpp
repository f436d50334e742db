// The count a ring or perf stream keeps of records that did not fit the type they were read as,
// so that a C++ struct out of step with its BPF struct shows as a number instead of as silence.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace bpfco::detail {

class type_mismatch_counter {
public:
    /// `stream` names the stream in the BPFCO_DEBUG log line, e.g. "ring buffer 'events'".
    explicit type_mismatch_counter(std::string stream) : stream_(std::move(stream)) {}

    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

    /// A record of `record_size` bytes was read as a type of `type_size` bytes. Counted; with
    /// BPFCO_DEBUG=1 the first one per stream is logged to stderr. Out of line: the mismatch is
    /// the rare path and must not grow the inline `as<T>()`.
    [[gnu::cold, gnu::noinline]] void note(std::size_t record_size, std::size_t type_size) const noexcept;

private:
    // Batches may be iterated on other threads than the stream's: both are atomic.
    mutable std::atomic<std::uint64_t> count_{0};
    mutable std::atomic<bool> logged_{false};
    std::string stream_;
};

}  // namespace bpfco::detail
