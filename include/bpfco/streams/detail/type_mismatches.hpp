// The check a ring or perf stream makes of the type its records are read as (as<T>()), and the
// count of records that did not pass, so that a C++ struct out of step with its BPF struct shows
// as a number and an error instead of as silence or garbage.
#pragma once

#include <bpfco/btf_layout.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace bpfco::detail {

/// An address per type: the key under which a stream keeps its verdict on T.
template <class T>
inline constexpr char record_tag = 0;

/// T's layout when as<T>() can compare it with a declared record type (generated types and
/// other mirror structs of 1 to 32 members), else null: then only T's size is checked.
template <class T>
const cpp_layout* record_layout() {
    if constexpr (mirror_struct<T>) {
        if constexpr (member_count<T>() >= 1 && member_count<T>() <= 32) return layout_if_mirror<T>();
    }
    return nullptr;
}

class type_mismatch_counter {
public:
    /// `stream` names the stream in messages, e.g. "ring buffer 'events'"; `declared` is what the
    /// map's object declares about its records (null: sizes only).
    type_mismatch_counter(std::string stream, std::shared_ptr<const record_declaration> declared)
        : stream_(std::move(stream)), declared_(std::move(declared)) {}

    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

    /// True when T passed the check, as the last type admitted: as<T>()'s hot path, one relaxed
    /// load and compare.
    template <class T>
    bool admitted() const noexcept {
        return admitted_.load(std::memory_order_relaxed) == &record_tag<T>;
    }

    /// as<T>()'s other path, out of line: a record that does not fit T (`fits` false, `size`
    /// bytes) is counted; a T not seen yet is compared once with the declared record type, and a
    /// T refused is counted for every record and recorded for refusal(). True when the record
    /// may be read as T.
    template <class T>
    [[gnu::cold, gnu::noinline]] bool admit(bool fits, std::size_t size) const noexcept {
        return admit(&record_tag<T>, &record_layout<T>, fits, size, sizeof(T));
    }

    /// True once a type was refused: the stream's receives fail from then on (relaxed: the
    /// message is read under the lock).
    bool refused() const noexcept { return refused_.load(std::memory_order_relaxed); }
    /// The first refusal: the stream, the C++ type and the member that differs from the BPF struct.
    std::string refusal() const;

private:
    bool admit(const void* tag, const cpp_layout* (*layout)(), bool fits, std::size_t size,
               std::size_t type_size) const noexcept;
    void note(std::size_t record_size, std::size_t type_size) const noexcept;

    // Batches may be walked on other threads than the stream's: the counts and the verdict
    // cache are atomic, the verdicts themselves are under the lock (taken once per new T).
    mutable std::atomic<std::uint64_t> count_{0};
    mutable std::atomic<bool> logged_{false};
    mutable std::atomic<const void*> admitted_{nullptr};
    mutable std::atomic<bool> refused_{false};
    mutable std::mutex lock_;
    mutable std::vector<std::pair<const void*, bool>> verdicts_;  // (tag, admitted)
    mutable std::string refusal_;
    std::string stream_;
    std::shared_ptr<const record_declaration> declared_;
};

}  // namespace bpfco::detail
