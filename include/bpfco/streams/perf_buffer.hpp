// An Asio I/O object over a BPF_MAP_TYPE_PERF_EVENT_ARRAY: one PERF_COUNT_SW_BPF_OUTPUT event
// and mmapped ring per online CPU, all in one level-triggered epoll fd that the reactor watches.
// Records carry their CPU; lost-sample records arrive in the stream and are counted.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/maps/map.hpp>
#include <bpfco/streams/detail/event_stream.hpp>
#include <bpfco/streams/detail/type_mismatches.hpp>
#include <bpfco/streams/ring_records.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace bpfco {

class perf_batch;

namespace detail {
class perf_state;
// The record-walk unit tests and fuzzers make records and batches directly (they define it).
struct record_access;
// One CPU ring's part of a batch: [first, end) of the records below `head`, at most `cap` items.
struct perf_range {
    std::uint32_t ring = 0;  // index of the ring in the stream
    std::uint32_t cpu = 0;
    std::span<const std::byte> data;   // the ring's data area (mapped once)
    std::vector<std::byte>* scratch = nullptr;  // the ring's buffer for a record that wraps the end
    std::uint64_t first = 0;  // where its items start (the ring's read position)
    std::uint64_t head = 0;   // data_head as read by the receive
    std::size_t cap = 0;      // most items (per_cpu_budget, less under max_records)
    std::uint64_t end = 0;    // valid once resolved
    std::size_t count = 0;    // items, valid once resolved
    bool resolved = false;
};
// A range's end became known: the ring's next batch starts there.
void perf_range_ended(perf_state& state, const perf_range& range, std::uint64_t end) noexcept;
// A lost record at `pos` in a range was decoded: counted once however often it is decoded.
void count_perf_lost(perf_state& state, const perf_range& range, std::uint64_t pos, std::uint64_t lost) noexcept;
// A batch moved: the stream follows it, to fix its ends before taking the next one.
void perf_batch_moved(perf_state& state, const perf_batch* from, perf_batch* to) noexcept;
}  // namespace detail

/// How a perf_buffer opens its rings and how much a batch takes.
struct perf_buffer_options {
    /// Data pages per CPU ring, a power of two. Memory cost: (page_count + 1) x page size x online
    /// CPUs, e.g. 64 pages x 4 KiB x 8 CPUs = 2 MiB (+ one metadata page per CPU).
    std::size_t page_count = 64;
    /// The kernel wakes the reader after this many samples (perf's wakeup_events). Above 1 it
    /// trades latency for fewer wake-ups; flush() or a poll interval reads what it holds back.
    std::uint32_t wakeup_events = 1;
    /// Most records one batch takes from one CPU's ring. A batch visits every ring once, each
    /// receive starting one ring further, so one busy CPU cannot starve the others.
    std::size_t per_cpu_budget = 1024;
    /// Most records per batch; 0: every record available.
    std::size_t max_records = 0;
    /// As ring_buffer_options::poll_interval.
    std::chrono::steady_clock::duration poll_interval{};
};

/// One item of a perf batch: a sample (a view, valid while its batch lives) or a lost-records
/// report from the kernel.
class perf_record {
public:
    /// A report that the kernel dropped `lost` records of `cpu`'s ring.
    static perf_record lost_report(std::uint32_t cpu, std::uint64_t lost) noexcept {
        perf_record r(cpu, {}, nullptr);
        r.lost_ = lost;
        r.is_lost_ = true;
        return r;
    }

    /// True for a lost-records report, false for a sample.
    bool is_lost() const noexcept { return is_lost_; }
    /// The CPU whose ring held the record.
    std::uint32_t cpu() const noexcept { return cpu_; }
    /// A lost report: how many records the kernel dropped because this CPU's ring was full.
    std::uint64_t lost_count() const noexcept { return lost_; }
    /// A sample's raw bytes; perf pads them, so there may be up to 7 bytes after the data written.
    std::span<const std::byte> data() const noexcept { return data_; }

    /// A copy of the sample as T, or nullopt when this is a lost report, the size does not fit
    /// (between sizeof(T) and sizeof(T) + 7 bytes: the padding) or T is refused: T is checked
    /// against the record type the map's object declares as ring_record::as() does. A sample
    /// that does not fit or is refused is counted in the stream's type_mismatches(). A copy, not
    /// a view: perf raw data starts 4 bytes past an 8-byte boundary, so viewing it in place as T
    /// could misalign.
    template <class T>
    std::optional<T> as() const noexcept {
        static_assert(std::is_trivially_copyable_v<T>, "perf samples hold plain data");
        if (is_lost_) return std::nullopt;
        const bool fits = data_.size() >= sizeof(T) && data_.size() < sizeof(T) + 8;
        if (!(fits && mismatches_->admitted<T>()) && !mismatches_->admit<T>(fits, data_.size())) [[unlikely]]
            return std::nullopt;
        T v;
        std::memcpy(&v, data_.data(), sizeof(T));
        return v;
    }

private:
    friend class perf_batch;
    friend struct detail::record_access;
    // A sample of `cpu`'s ring. `mismatches`: the stream's check of T and count of samples that
    // are not a T.
    perf_record(std::uint32_t cpu, std::span<const std::byte> data,
                const detail::type_mismatch_counter* mismatches) noexcept
        : cpu_(cpu), data_(data), mismatches_(mismatches) {}

    std::uint32_t cpu_;
    bool is_lost_ = false;
    std::uint64_t lost_ = 0;
    std::span<const std::byte> data_;
    const detail::type_mismatch_counter* mismatches_;
};

/// The items one receive delivered: a lazy view over the CPU rings, decoded in place as it is
/// iterated (a record that wraps a ring's end is copied whole into that ring's scratch buffer).
/// Move-only; releasing it (or destroying it) hands the space back to every CPU ring it read
/// from, storing each ring's data_tail once.
///
/// The receive reads every ring's data_head and proves that one item is there; the batch covers,
/// for each ring in turn, up to per_cpu_budget items below that head (max_records bounds the
/// total). Where each ring's part ends is fixed the first time it is needed: when an iteration
/// gets there, or by size(), release() or the next receive, which walk the headers to find it.
/// Releasing commits everything the batch covers, items not iterated included. Lost items are
/// counted in lost() once, when first decoded (at the latest when the batch is released).
///
/// Iterators point into the batch: moving the batch invalidates them. Release a batch before
/// receiving the next one: a record that wrapped its ring lives in a per-ring scratch buffer
/// that the next read reuses.
class perf_batch {
public:
    /// A forward iterator over the batch's items, walking each ring's headers as it goes.
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;  ///< single pass in practice
        using value_type = perf_record;                        ///< an item, by value
        using difference_type = std::ptrdiff_t;                ///< as std iterators
        using pointer = void;                                  ///< items are made on access
        using reference = perf_record;                         ///< an item, by value

        /// The end iterator.
        iterator() = default;
        /// The current item (a view into its ring).
        perf_record operator*() const noexcept {
            const std::uint32_t cpu = b_->ranges_[k_].cpu;
            return lost_ ? perf_record::lost_report(cpu, lost_count_) : perf_record(cpu, {p_, len_}, b_->mismatches_);
        }
        // The common step inline: the next record is a sample lying whole before the ring's end,
        // within the range and its budget. Everything else (lost reports, other record types, a
        // record that wraps the end, the range's end) out of line.
        /// Steps to the next item, in this ring or the next one.
        [[gnu::always_inline]] iterator& operator++() noexcept {
            using namespace ring_records;
            if (n_ != cap_ && next_ != stop_) [[likely]] {
                // As ring_batch's step: the line 2 KiB ahead, below the head only.
                if (stop_ - next_ > prefetch_distance)
                    __builtin_prefetch(ring_ + ((base_ + next_ + prefetch_distance) & mask_));
                const std::uint32_t off = (base_ + next_) & mask_;
                // The header and the raw size field (the record's first 12 bytes) lie before the
                // ring's end; a record starting nearer to it takes the general step.
                if (off <= mask_ - (perf_sample_data_offset - 1)) [[likely]] {
                    const std::byte* rec = ring_ + off;
                    std::uint32_t type, raw;
                    std::uint16_t size;
                    std::memcpy(&type, rec, sizeof type);
                    std::memcpy(&size, rec + perf_header_size_offset, sizeof size);
                    std::memcpy(&raw, rec + perf_header_size, sizeof raw);
                    // The record ends below the head and before the ring's end, and its raw data
                    // inside it; one branch for all: these are the checks libbpf does not make.
                    const std::uint32_t room = std::min(stop_ - next_, mask_ - off + 1);
                    if ((type == perf_record_sample) & (size <= room) & perf_raw_fits(raw, size)) [[likely]] {
                        p_ = rec + perf_sample_data_offset;
                        len_ = raw;
                        lost_ = false;
                        pos_ = next_;
                        next_ += size;
                        ++n_;
                        return *this;
                    }
                }
            }
            // By value: the iterator's address must not escape, or the compiler keeps it in
            // memory and reloads it after every store the loop body makes.
            *this = seek(*this);
            return *this;
        }
        /// Steps on; returns the position before.
        iterator operator++(int) noexcept {
            auto old = *this;
            ++*this;
            return old;
        }
        /// Iterators at the end compare equal; others by ring and position.
        bool operator==(const iterator& o) const noexcept {
            return b_ == nullptr || o.b_ == nullptr ? b_ == o.b_ : k_ == o.k_ && pos_ == o.pos_;
        }

    private:
        friend class perf_batch;
        explicit iterator(const perf_batch* b) noexcept : b_(b) { *this = enter(*this, 0) ? seek(*this) : iterator(); }

        // Loads range k (or the first one after it that may hold an item); false past the last.
        static bool enter(iterator& it, std::size_t k) noexcept {
            for (; k < it.b_->ranges_.size(); ++k) {
                const auto& r = it.b_->ranges_[k];
                if (r.resolved && r.count == 0) continue;
                it.k_ = static_cast<std::uint32_t>(k);
                it.ring_ = r.data.data();
                it.mask_ = static_cast<std::uint32_t>(r.data.size() - 1);
                it.base_ = static_cast<std::uint32_t>(r.first) & it.mask_;
                it.stop_ = static_cast<std::uint32_t>((r.resolved ? r.end : r.head) - r.first);
                it.cap_ = static_cast<std::uint32_t>(std::min<std::size_t>(r.cap, UINT32_MAX));
                it.next_ = 0;
                it.n_ = 0;
                return true;
            }
            return false;
        }
        // The general step from it.next_: decodes through the scratch buffer, counts lost
        // reports, skips other record types; at a range's end (or a corrupt record, which the
        // next receive reports) settles it and enters the next range.
        [[gnu::noinline]] static iterator seek(iterator it) noexcept {
            using ring_records::perf_kind;
            for (;;) {
                auto& r = it.b_->ranges_[it.k_];
                if (it.n_ != it.cap_ && it.next_ != it.stop_) {
                    const std::uint64_t pos = r.first + it.next_;
                    const auto d = ring_records::perf_decode(r.data, pos, r.head, *r.scratch);
                    if (d.kind == perf_kind::other) {
                        it.next_ = static_cast<std::uint32_t>(d.next - r.first);
                        continue;
                    }
                    if (d.kind != perf_kind::corrupt) {
                        if (d.kind == perf_kind::lost) it.b_->count_lost(r, pos, d.lost);
                        it.lost_ = d.kind == perf_kind::lost;
                        it.lost_count_ = d.lost;
                        it.p_ = d.data.data();
                        it.len_ = static_cast<std::uint32_t>(d.data.size());
                        it.pos_ = it.next_;
                        it.next_ = static_cast<std::uint32_t>(d.next - r.first);
                        ++it.n_;
                        return it;
                    }
                }
                it.b_->fix_end(r, r.first + it.next_, it.n_);
                if (!enter(it, it.k_ + 1u)) return iterator();
            }
        }

        static constexpr std::uint32_t prefetch_distance = 2048;
        // Positions are offsets from the range's first record, 32 bits wide (a ring is smaller
        // than 2 GiB): with only pointers and 32-bit members, the 64-bit stores a loop body makes
        // cannot alias them, so the compiler keeps them in registers even in a coroutine frame.
        const perf_batch* b_ = nullptr;  // nullptr: the end
        const std::byte* ring_ = nullptr; // the current range's ring data
        const std::byte* p_ = nullptr;    // the current item's data
        std::uint64_t lost_count_ = 0;    // a lost report's count (read only on that path)
        std::uint32_t k_ = 0;             // current range
        std::uint32_t mask_ = 0;          // ring size - 1
        std::uint32_t base_ = 0;          // the range's first position, masked
        std::uint32_t stop_ = 0;          // no record starts at or after this
        std::uint32_t cap_ = 0;           // most items of this range
        std::uint32_t pos_ = 0;           // current item's position
        std::uint32_t next_ = 0;          // the position after it
        std::uint32_t n_ = 0;             // items of range k_ up to and including the current one
        std::uint32_t len_ = 0;           // the current sample's length
        bool lost_ = false;               // the current item is a lost report
    };

    /// An empty batch holding nothing.
    perf_batch() = default;
    /// Takes `o`'s items; `o` becomes empty. Iterators into `o` are invalidated.
    perf_batch(perf_batch&& o) noexcept { take_from(o); }
    /// Releases this batch, then takes `o`'s items.
    perf_batch& operator=(perf_batch&& o) noexcept {
        if (this != &o) {
            release();
            take_from(o);
        }
        return *this;
    }
    perf_batch(const perf_batch&) = delete;
    perf_batch& operator=(const perf_batch&) = delete;
    ~perf_batch() { release(); }

    /// Items in the batch. Walks the headers the first time unless an iteration already reached
    /// the end: prefer iterating.
    std::size_t size() const noexcept {
        std::size_t n = 0;
        for (auto& r : ranges_) {
            resolve(r);
            n += r.count;
        }
        return n;
    }
    /// Constant time: a batch is empty only when the receive found no item.
    bool empty() const noexcept { return empty_; }
    /// The first item (end() when empty).
    iterator begin() const noexcept { return empty_ ? iterator() : iterator(this); }
    /// The end iterator.
    iterator end() const noexcept { return {}; }

    /// Commits now; the views become invalid. Idempotent.
    void release() noexcept;

private:
    friend class detail::perf_state;
    friend struct detail::record_access;

    // A batch over `ranges` (one per ring with items) of the stream `state`; made by the stream.
    perf_batch(std::shared_ptr<detail::perf_state> state, std::vector<detail::perf_range> ranges, bool empty,
               const detail::type_mismatch_counter* mismatches) noexcept
        : state_(std::move(state)), mismatches_(mismatches), ranges_(std::move(ranges)), empty_(empty) {}

    void take_from(perf_batch& o) noexcept {
        state_ = std::move(o.state_);
        mismatches_ = o.mismatches_;
        ranges_ = std::move(o.ranges_);
        empty_ = o.empty_;
        o.ranges_.clear();
        if (state_) detail::perf_batch_moved(*state_, &o, this);
    }
    void fix_end(detail::perf_range& r, std::uint64_t end, std::size_t count) const noexcept {
        if (r.resolved) return;
        r.resolved = true;
        r.end = end;
        r.count = count;
        if (state_) detail::perf_range_ended(*state_, r, end);
    }
    void count_lost(const detail::perf_range& r, std::uint64_t pos, std::uint64_t lost) const noexcept {
        if (state_) detail::count_perf_lost(*state_, r, pos, lost);
    }
    // The same steps as iterating, without delivering the items.
    void resolve(detail::perf_range& r) const noexcept {
        std::uint64_t pos = r.first;
        std::size_t n = 0;
        while (!r.resolved) {
            if (n == r.cap || pos == r.head) return fix_end(r, pos, n);
            const auto d = ring_records::perf_decode(r.data, pos, r.head, *r.scratch);
            if (d.kind == ring_records::perf_kind::corrupt) return fix_end(r, pos, n);
            if (d.kind == ring_records::perf_kind::lost) count_lost(r, pos, d.lost);
            if (d.kind != ring_records::perf_kind::other) ++n;
            pos = d.next;
        }
    }
    void resolve_all() const noexcept {
        for (auto& r : ranges_) resolve(r);
    }

    std::shared_ptr<detail::perf_state> state_;
    const detail::type_mismatch_counter* mismatches_ = nullptr;
    mutable std::vector<detail::perf_range> ranges_;
    bool empty_ = true;
};

namespace detail {
// Instantiated in src/streams/perf_buffer.cpp, where perf_state is defined.
extern template class io_object<perf_state>;
extern template class event_stream<perf_state, perf_batch>;
}  // namespace detail

/// A BPF perf event array as an Asio I/O object.
///
/// Completion Signature: `void(boost::system::error_code, bpfco::perf_batch)`. A receive
/// completes with at least one item (sample or lost report), or with an error:
/// `operation_aborted` (cancelled, or closed/destroyed while pending), `bad_descriptor`
/// (started after close), `already_started` (another receive is pending), `bad_message` (a
/// record size that cannot be).
///
/// Per-Operation Cancellation: terminal, partial and total; a cancelled receive has taken no
/// record, so nothing is lost.
///
/// try_receive() takes what is there now without waiting (an empty batch when nothing is, or
/// while a receive is pending), with the same per_cpu_budget, max_records and lost counting;
/// try it first and co_await async_receive only when it comes back empty (docs/streams.md).
///
/// Thread Safety: distinct objects are safe from different threads; a shared object is not.
/// One receive may be pending at a time.
class perf_buffer : public detail::event_stream<detail::perf_state, perf_batch> {
public:
    /// Opens a BPF output event and ring for every online CPU and stores each in the map's slot
    /// for that CPU (slots of offline CPUs stay empty). Needs CAP_PERFMON (or root).
    static result<perf_buffer> create(const executor_type& ex, map perf_map, perf_buffer_options options = {});
    /// As create(), throwing bpfco::error_exception on failure.
    perf_buffer(const executor_type& ex, map perf_map, perf_buffer_options options = {});
    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    perf_buffer(ExecutionContext& ctx, map perf_map, perf_buffer_options options = {})
        : perf_buffer(executor_type(ctx.get_executor()), std::move(perf_map), options) {}
    /// Takes `o`'s rings; `o` keeps its executor and is left closed (its counters read 0,
    /// cpus() is empty).
    perf_buffer(perf_buffer&& o) noexcept = default;
    /// Closes this stream, then takes `o`'s rings and executor.
    perf_buffer& operator=(perf_buffer&& o) noexcept = default;
    /// Closes: a pending receive completes with operation_aborted.
    ~perf_buffer() = default;

    /// Records the kernel reported lost, over every CPU, since the stream opened.
    std::uint64_t lost() const noexcept;
    /// Samples that `as<T>()` found not to fit T since the stream opened: a C++ type out of step
    /// with the BPF one. With BPFCO_DEBUG=1 the first is logged with both sizes.
    std::uint64_t type_mismatches() const noexcept;
    /// Why receives fail with bad_message after as<T>() refused a T that differs from the
    /// record type the map's object declares (the stream, the C++ type, the member that
    /// differs), or empty while no T was refused. Thread-safe.
    std::string record_type_refusal() const;
    /// Records lost on one CPU's ring.
    std::uint64_t lost(std::uint32_t cpu) const noexcept;
    /// The CPUs that have a ring (the online ones when the stream opened).
    std::vector<std::uint32_t> cpus() const;
    /// Bytes per CPU ring (page_count x page size).
    std::size_t ring_size() const noexcept;

private:
    using event_stream::event_stream;
};

}  // namespace bpfco
