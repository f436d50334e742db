// An Asio I/O object over a BPF_MAP_TYPE_RINGBUF map: our own reader over the mmapped ring,
// woken through the map fd registered with the reactor. Each receive completes with a batch of
// zero-copy record views; the consumer position moves when the batch is released.
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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

namespace bpfco {

class ring_batch;

namespace detail {
class ring_state;
// The record-walk unit tests and fuzzers make records and batches directly (they define it).
struct record_access;
// A released batch hands the ring space before `end` back to the producer.
void release_ring_space(ring_state& state, std::uint64_t end) noexcept;
// A batch's end became known (iterated to its end, or resolved): the next batch starts there.
void ring_batch_ended(ring_state& state, std::uint64_t end) noexcept;
// An unresolved batch moved: the stream follows it, to resolve it before taking the next one.
void ring_batch_moved(ring_state& state, const ring_batch* from, ring_batch* to) noexcept;
}  // namespace detail

/// How much a ring_buffer batch takes, and whether it also polls.
struct ring_buffer_options {
    /// Most records per batch; 0: every record available.
    std::size_t max_records = 0;
    /// Most ring bytes per batch (0: no limit): a batch holds the records that start within
    /// this many bytes of its first position. It bounds how much ring space a batch keeps from
    /// the producer until it is released (batches are walked once, so it is not about cache).
    std::uint64_t max_bytes = 256 * 1024;
    /// When nonzero, a pending receive also checks the ring this often, so records submitted
    /// with BPF_RB_NO_WAKEUP (or whose wake-up was suppressed) are still delivered. One timer per
    /// stream, running only while receives are pending; 0: wake-ups only.
    std::chrono::steady_clock::duration poll_interval{};
};

/// One record of a batch: a view into the ring, valid while its batch lives.
class ring_record {
public:
    /// The record's bytes, in the ring.
    std::span<const std::byte> data() const noexcept { return data_; }
    /// The record's length in bytes.
    std::size_t size() const noexcept { return data_.size(); }

    /// The record as a T in place, or nullptr when the record is not exactly sizeof(T) bytes or
    /// T is refused: when the map's object declares the records' type (BPFCO_MAP_RECORD, or
    /// BPFCO_RECORD_TYPE for a struct of T's name) and T has a layout the check can look into
    /// (generated types, mirror structs), T is compared with it member by member once; a T that
    /// differs is refused for every record, and the stream's receives fail from then on with a
    /// message naming the member. Each record refused is counted in the stream's
    /// type_mismatches(). Ring records are 8-byte aligned, so any T aligned to at most 8 can be
    /// viewed. Thread-safe: a batch may be walked on any thread.
    template <class T>
    const T* as() const noexcept {
        static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= 8,
                      "ring records hold plain data aligned to at most 8 bytes");
        const bool fits = data_.size() == sizeof(T);
        if ((fits && mismatches_->admitted<T>()) || mismatches_->admit<T>(fits, data_.size())) [[likely]]
            return reinterpret_cast<const T*>(data_.data());
        return nullptr;
    }

private:
    friend class ring_batch;
    friend struct detail::record_access;
    // `mismatches`: the stream's check of T and count of records that are not a T.
    explicit ring_record(std::span<const std::byte> data, const detail::type_mismatch_counter* mismatches) noexcept
        : data_(data), mismatches_(mismatches) {}
    std::span<const std::byte> data_;
    const detail::type_mismatch_counter* mismatches_ = nullptr;
};

/// The records one receive delivered: a lazy view over the ring, walked once. Move-only;
/// releasing it (or destroying it) hands their space back to the producer by storing the
/// consumer position once for the whole batch, records not iterated included. The iterator skips
/// discarded records; the batch ends at the first record still being written, or at a length
/// that cannot be (the next receive then fails with bad_message). size() and bytes() walk the
/// headers the first time unless an iteration already reached the end (docs/streams.md).
///
/// Iterators point into the batch: moving the batch invalidates them. Release batches in the
/// order they were received: a batch commits everything before its end.
class ring_batch {
public:
    /// A forward iterator over the batch's records, validating each header as it reaches it.
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;  ///< single pass in practice
        using value_type = ring_record;                        ///< a record view, by value
        using difference_type = std::ptrdiff_t;                ///< as std iterators
        using pointer = void;                                  ///< records are made on access
        using reference = ring_record;                         ///< a record view, by value

        /// The end iterator.
        iterator() = default;
        /// The current record (a view into the ring).
        ring_record operator*() const noexcept {
            return ring_record({p_ + ring_records::header_size, len_}, b_->mismatches_);
        }
        // The common step inline: the next header is submitted, neither BUSY nor DISCARD, and
        // within the batch. Everything else (skipping discarded records, the end) out of line.
        /// Steps to the next submitted record; past the last one, to the end.
        [[gnu::always_inline]] iterator& operator++() noexcept {
            const std::byte* next = p_ + ring_records::record_span(len_);
            if (prod_p_ - next > prefetch_distance) __builtin_prefetch(next + prefetch_distance);
            if (n_ != max_ && next < b_->limit_p_) [[likely]] {
                // atomic_ref needs a mutable object; the area is mapped read-only, only loaded.
                auto* word = reinterpret_cast<std::uint32_t*>(const_cast<std::byte*>(next));
                // acquire: pairs with the kernel's xchg of the header in bpf_ringbuf_commit().
                const std::uint32_t hdr = std::atomic_ref<std::uint32_t>(*word).load(std::memory_order_acquire);
                if ((hdr & (ring_records::busy_bit | ring_records::discard_bit)) == 0 &&
                    ring_records::record_span(hdr) <= static_cast<std::uint64_t>(prod_p_ - next)) [[likely]] {
                    p_ = next;
                    len_ = hdr;
                    ++n_;
                    return *this;
                }
            }
            // Out of line, and by value: the iterator's address must not escape, or the compiler
            // keeps it in memory and reloads it after every store the loop body makes.
            const auto f = step(b_, next, n_);
            if (f.found) {
                p_ = b_->at(f.pos);
                len_ = f.len;
                ++n_;
            } else {
                b_ = nullptr;
            }
            return *this;
        }
        /// Steps on; returns the position before.
        iterator operator++(int) noexcept {
            auto old = *this;
            ++*this;
            return old;
        }
        /// Iterators at the end compare equal (an iteration learns where the end is only when it
        /// gets there); others by position.
        bool operator==(const iterator& o) const noexcept { return b_ == o.b_ && (b_ == nullptr || p_ == o.p_); }

    private:
        friend class ring_batch;
        iterator(const ring_batch* b) noexcept
            : b_(b), p_(b->first_p_), prod_p_(b->prod_p_), len_(b->first_len_), n_(1), max_(b->max_records_) {}
        // The general step: skips discarded records; at the end, fixes the batch's end there. The
        // fast path's header is loaded again here, on a path taken once per discarded record and
        // once per batch.
        [[gnu::noinline]] static ring_records::found_record step(const ring_batch* b, const std::byte* next,
                                                                 std::uint32_t n) noexcept {
            const std::uint64_t pos = b->pos(next);
            if (n == b->max_records_) {
                b->fix_end(pos, n);
                return {pos, 0, false, ring_records::walk_stop::limit};
            }
            const auto f = ring_records::find_submitted(b->ring_, pos, b->limit_, b->producer_pos_);
            if (!f.found) b->fix_end(f.pos, n);
            return f;
        }

        // Ahead of the header loads a drain would otherwise wait on, below the producer
        // position only; measured in docs/performance.md, explained in docs/streams.md.
        static constexpr std::ptrdiff_t prefetch_distance = 2048;
        // Every member is a pointer or 32 bits wide: no alias with a loop body's 64-bit stores
        // (docs/streams.md).
        const ring_batch* b_ = nullptr;     // the batch; nullptr: the end. Its limit_p_ is read at
                                            // every step: a receive fixing the end lowers it.
        const std::byte* p_ = nullptr;      // the current record's header
        const std::byte* prod_p_ = nullptr; // no record ends after this
        std::uint32_t len_ = 0;             // its payload length
        std::uint32_t n_ = 0;               // records up to and including the current one
        std::uint32_t max_ = 0;
    };

    /// An empty batch holding nothing.
    ring_batch() = default;
    /// Takes `o`'s records; `o` becomes empty. Iterators into `o` are invalidated.
    ring_batch(ring_batch&& o) noexcept { take_from(o); }
    /// Releases this batch, then takes `o`'s records.
    ring_batch& operator=(ring_batch&& o) noexcept {
        if (this != &o) {
            release();
            take_from(o);
        }
        return *this;
    }
    ring_batch(const ring_batch&) = delete;
    ring_batch& operator=(const ring_batch&) = delete;
    ~ring_batch() { release(); }

    /// Records in the batch. Walks the headers the first time unless an iteration already
    /// reached the end: prefer iterating.
    std::size_t size() const noexcept {
        resolve();
        return count_;
    }
    /// Constant time: a batch is empty only when the receive found no submitted record.
    bool empty() const noexcept { return empty_; }
    /// The first record (end() when empty).
    iterator begin() const noexcept { return empty_ ? iterator() : iterator(this); }
    /// The end iterator.
    iterator end() const noexcept { return {}; }
    /// Ring bytes the batch spans (headers, padding and discarded records included). Resolves
    /// the end as size() does.
    std::uint64_t bytes() const noexcept {
        resolve();
        return end_ - begin_;
    }

    /// Commits now; the views become invalid. Idempotent.
    void release() noexcept {
        if (state_) {
            resolve();
            detail::release_ring_space(*state_, end_);
            state_.reset();
        }
    }

private:
    friend class detail::ring_state;
    friend struct detail::record_access;

    // A batch over [begin, ...): `first` is its first submitted record (its header already
    // checked, `first_len` its length), `limit` the position no record of the batch starts at or
    // after, `producer_pos` the snapshot bounding every record's end (at most a ring ahead of
    // begin). Positions in the batch map linearly onto the double mapping. `mismatches` counts
    // records that as<T>() found not to be a T.
    ring_batch(std::shared_ptr<detail::ring_state> state, ring_records::ring_view ring, std::uint64_t begin,
               std::uint64_t first, std::uint32_t first_len, std::uint64_t limit, std::uint64_t producer_pos,
               std::size_t max_records, const detail::type_mismatch_counter* mismatches) noexcept
        : state_(std::move(state)), mismatches_(mismatches), ring_(ring), begin_(begin), first_(first), limit_(limit),
          producer_pos_(producer_pos), first_p_(ring.data + (first & (ring.capacity - 1))), limit_p_(at(limit)),
          prod_p_(at(producer_pos)),
          max_records_(max_records != 0 && max_records < UINT32_MAX ? static_cast<std::uint32_t>(max_records)
                                                                    : UINT32_MAX),
          first_len_(first_len), resolved_(false), empty_(false) {}
    // An empty batch over [begin, end) (discarded records only, or nothing): resolved already.
    ring_batch(std::shared_ptr<detail::ring_state> state, std::uint64_t begin, std::uint64_t end) noexcept
        : state_(std::move(state)), begin_(begin), first_(end), limit_(end), producer_pos_(end), end_(end) {}

    // A position of the batch in the double mapping, and back: [first, producer_pos) is at most
    // a ring long, so it is contiguous there.
    const std::byte* at(std::uint64_t pos) const noexcept { return first_p_ + (pos - first_); }
    std::uint64_t pos(const std::byte* p) const noexcept { return first_ + static_cast<std::uint64_t>(p - first_p_); }

    void take_from(ring_batch& o) noexcept {
        state_ = std::move(o.state_);
        mismatches_ = o.mismatches_;
        ring_ = o.ring_;
        begin_ = o.begin_;
        first_ = o.first_;
        limit_ = o.limit_;
        producer_pos_ = o.producer_pos_;
        end_ = o.end_;
        count_ = o.count_;
        first_p_ = o.first_p_;
        limit_p_ = o.limit_p_;
        prod_p_ = o.prod_p_;
        max_records_ = o.max_records_;
        first_len_ = o.first_len_;
        resolved_ = o.resolved_;
        empty_ = o.empty_;
        if (state_ && !resolved_) detail::ring_batch_moved(*state_, &o, this);
    }

    // Fixes the end where the first walk to get there (an iteration's or resolve()'s) stopped;
    // later iterations stop there too (limit_), so records BUSY then are left to the next batch.
    void fix_end(std::uint64_t end, std::size_t count) const noexcept {
        if (resolved_) return;
        resolved_ = true;
        end_ = limit_ = end;
        limit_p_ = at(end);
        count_ = count;
        if (state_) detail::ring_batch_ended(*state_, end);
    }

    // The same steps as iterating, without delivering the records.
    void resolve() const noexcept {
        if (resolved_) return;
        std::uint64_t pos = first_;
        std::uint32_t len = first_len_;
        for (std::uint32_t n = 1;; ++n) {
            const std::uint64_t next = pos + ring_records::record_span(len);
            if (n == max_records_) return fix_end(next, n);
            const auto f = ring_records::find_submitted(ring_, next, limit_, producer_pos_);
            if (!f.found) return fix_end(f.pos, n);
            pos = f.pos;
            len = f.len;
        }
    }

    std::shared_ptr<detail::ring_state> state_;
    const detail::type_mismatch_counter* mismatches_ = nullptr;
    ring_records::ring_view ring_{};
    std::uint64_t begin_ = 0;               // commit range start (leading discarded records included)
    std::uint64_t first_ = 0;               // first submitted record
    mutable std::uint64_t limit_ = 0;       // no record starts here or after; the end once resolved
    std::uint64_t producer_pos_ = 0;        // no record ends after this
    mutable std::uint64_t end_ = 0;         // valid once resolved_
    mutable std::size_t count_ = 0;         // valid once resolved_
    const std::byte* first_p_ = nullptr;    // first_, limit_ and producer_pos_ in the mapping
    mutable const std::byte* limit_p_ = nullptr;
    const std::byte* prod_p_ = nullptr;
    std::uint32_t max_records_ = UINT32_MAX;
    std::uint32_t first_len_ = 0;
    mutable bool resolved_ = true;
    bool empty_ = true;
};

namespace detail {
// Instantiated in src/streams/ring_buffer.cpp, where ring_state is defined.
extern template class io_object<ring_state>;
extern template class event_stream<ring_state, ring_batch>;
}  // namespace detail

/// A BPF ring buffer as an Asio I/O object.
///
/// Completion Signature: `void(boost::system::error_code, bpfco::ring_batch)`. A receive
/// completes with at least one record, or with an error: `operation_aborted` (cancelled, or the
/// stream closed or destroyed while it was pending), `bad_descriptor` (started after close),
/// `already_started` (another receive is pending), `bad_message` (a record length that cannot
/// be: the ring is not readable further). Spurious wake-ups never complete a receive.
///
/// Per-Operation Cancellation: terminal, partial and total cancellation are all supported and
/// lose nothing: a cancelled receive has taken no record, so every record stays in the ring for
/// the next receive. This is what makes `co_await (rb.async_receive(use_awaitable) ||
/// timer.async_wait(use_awaitable))` safe.
///
/// try_receive() takes what is there now without waiting (an empty batch when nothing is, or
/// while a receive is pending), with the same max_records/max_bytes limits; it makes no syscall.
/// Try it first and co_await async_receive only when it comes back empty (docs/streams.md).
///
/// Thread Safety: distinct objects are safe to use from different threads; a shared object is
/// not (use a strand, as with Asio sockets). One receive may be pending at a time. No wake-up is
/// lost while one thread runs the executor; with several, set a poll interval as a bound.
class ring_buffer : public detail::event_stream<detail::ring_state, ring_batch> {
public:
    /// Maps the ring of `ring_map` (which must be a BPF_MAP_TYPE_RINGBUF map) and registers its
    /// fd with `ex`'s reactor. The error names the map.
    static result<ring_buffer> create(const executor_type& ex, map ring_map, ring_buffer_options options = {});
    /// As create(), throwing bpfco::error_exception on failure.
    ring_buffer(const executor_type& ex, map ring_map, ring_buffer_options options = {});
    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    ring_buffer(ExecutionContext& ctx, map ring_map, ring_buffer_options options = {})
        : ring_buffer(executor_type(ctx.get_executor()), std::move(ring_map), options) {}
    /// Takes `o`'s ring; `o` keeps its executor and is left closed (its sizes and counters read 0).
    ring_buffer(ring_buffer&& o) noexcept = default;
    /// Closes this stream, then takes `o`'s ring and executor.
    ring_buffer& operator=(ring_buffer&& o) noexcept = default;
    /// Closes: a pending receive completes with operation_aborted. Batches still alive keep the
    /// mapping until they are released.
    ~ring_buffer() = default;

    /// The ring's data size in bytes (the map's max_entries).
    std::uint64_t capacity() const noexcept;
    /// Bytes written by the producer and not yet released by the consumer: the fill level.
    std::uint64_t available_bytes() const noexcept;
    /// Records that `as<T>()` found not to be a T (wrong size) since the stream opened: a C++
    /// type out of step with the BPF one. With BPFCO_DEBUG=1 the first is logged with both sizes.
    std::uint64_t type_mismatches() const noexcept;
    /// Why receives fail with bad_message after as<T>() refused a T that differs from the
    /// record type the map's object declares (the stream, the C++ type, the member that
    /// differs), or empty while no T was refused. Thread-safe.
    std::string record_type_refusal() const;

private:
    using event_stream::event_stream;
};

/// The sum over CPUs of a producer-side drop counter: a BPF_MAP_TYPE_PERCPU_ARRAY with u32 keys
/// and u64 values, as bpfco_ringbuf_reserve() in <bpfco/ringbuf.bpf.h> increments when the
/// ring is full.
result<std::uint64_t> read_drop_counter(const map& drops, std::uint32_t key = 0);

}  // namespace bpfco
