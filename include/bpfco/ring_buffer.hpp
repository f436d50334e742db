// An Asio I/O object over a BPF_MAP_TYPE_RINGBUF map: our own reader over the mmapped ring,
// woken through the map fd registered with the reactor. Each receive completes with a batch of
// zero-copy record views; the consumer position moves when the batch is released.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/map.hpp>
#include <bpfco/ring_records.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>

namespace bpfco {

namespace detail {
class ring_state;
void commit(ring_state& state, std::uint64_t end) noexcept;
}  // namespace detail

struct ring_buffer_options {
    /// Most records per batch; 0: every record available.
    std::size_t max_records = 0;
    /// Most ring bytes per batch (0: no limit). The records are walked once to make the batch and
    /// again when read; a batch that fits in cache keeps the second pass from missing.
    std::uint64_t max_bytes = 256 * 1024;
    /// When nonzero, a pending receive also checks the ring this often, so records submitted
    /// with BPF_RB_NO_WAKEUP (or whose wake-up was suppressed) are still delivered. One timer per
    /// stream, running only while receives are pending; 0: wake-ups only.
    std::chrono::steady_clock::duration poll_interval{};
};

/// One record of a batch: a view into the ring, valid while its batch lives.
class ring_record {
public:
    explicit ring_record(std::span<const std::byte> data) noexcept : data_(data) {}
    std::span<const std::byte> data() const noexcept { return data_; }
    std::size_t size() const noexcept { return data_.size(); }

    /// The record as a T in place, or nullptr when the record is not exactly sizeof(T) bytes.
    /// Ring records are 8-byte aligned, so any T aligned to at most 8 can be viewed.
    template <class T>
    const T* as() const noexcept {
        static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= 8,
                      "ring records hold plain data aligned to at most 8 bytes");
        return data_.size() == sizeof(T) ? reinterpret_cast<const T*>(data_.data()) : nullptr;
    }

private:
    std::span<const std::byte> data_;
};

/// The records one receive delivered. Move-only; releasing it (or destroying it) hands their
/// space back to the producer by storing the consumer position once for the whole batch.
/// Release batches in the order they were received: a batch commits everything before its end.
class ring_batch {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = ring_record;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = ring_record;

        iterator() = default;
        iterator(ring_records::ring_view ring, std::uint64_t pos, std::uint64_t end) noexcept
            : ring_(ring), pos_(pos), end_(end) {
            skip_discarded();
        }
        ring_record operator*() const noexcept { return ring_record(ring_.payload(pos_, len_)); }
        iterator& operator++() noexcept {
            pos_ += ring_records::record_span(len_);
            skip_discarded();
            return *this;
        }
        iterator operator++(int) noexcept {
            auto old = *this;
            ++*this;
            return old;
        }
        bool operator==(const iterator& o) const noexcept { return pos_ == o.pos_; }

    private:
        // Loads each header once: the length of the record at pos_ is kept in len_.
        void skip_discarded() noexcept {
            // Only submitted records lie in [pos, end): the walk that made the batch stopped at BUSY.
            while (pos_ < end_) {
                const std::uint32_t hdr = ring_.load_header(pos_);
                len_ = hdr & ~ring_records::discard_bit;
                if (!(hdr & ring_records::discard_bit)) break;
                pos_ += ring_records::record_span(len_);
            }
        }
        ring_records::ring_view ring_{};
        std::uint64_t pos_ = 0;
        std::uint64_t end_ = 0;
        std::uint32_t len_ = 0;
    };

    ring_batch() = default;
    ring_batch(std::shared_ptr<detail::ring_state> state, ring_records::ring_view ring, std::uint64_t begin,
               std::uint64_t end, std::size_t count) noexcept
        : state_(std::move(state)), ring_(ring), begin_(begin), end_(end), count_(count) {}
    ring_batch(ring_batch&& o) noexcept
        : state_(std::move(o.state_)), ring_(o.ring_), begin_(o.begin_), end_(o.end_), count_(o.count_) {}
    ring_batch& operator=(ring_batch&& o) noexcept {
        if (this != &o) {
            release();
            state_ = std::move(o.state_);
            ring_ = o.ring_;
            begin_ = o.begin_;
            end_ = o.end_;
            count_ = o.count_;
        }
        return *this;
    }
    ring_batch(const ring_batch&) = delete;
    ring_batch& operator=(const ring_batch&) = delete;
    ~ring_batch() { release(); }

    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    iterator begin() const noexcept { return {ring_, begin_, end_}; }
    iterator end() const noexcept { return {ring_, end_, end_}; }
    /// Ring bytes the batch spans (headers, padding and discarded records included).
    std::uint64_t bytes() const noexcept { return end_ - begin_; }

    /// Commits now; the views become invalid. Idempotent.
    void release() noexcept {
        if (state_) {
            detail::commit(*state_, end_);
            state_.reset();
        }
    }

private:
    std::shared_ptr<detail::ring_state> state_;
    ring_records::ring_view ring_{};
    std::uint64_t begin_ = 0;
    std::uint64_t end_ = 0;
    std::size_t count_ = 0;
};

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
/// Thread Safety: distinct objects are safe to use from different threads; a shared object is
/// not (use a strand, as with Asio sockets). One receive may be pending at a time. The stream
/// re-checks the ring after every commit (with a full fence) before it waits, which makes a lost
/// edge-triggered wake-up impossible when the stream's executor runs on one thread; with several
/// threads running the io_context, set a poll interval as a bound.
class ring_buffer {
public:
    using executor_type = boost::asio::any_io_executor;
    using completion_signature = void(boost::system::error_code, ring_batch);

    /// Maps the ring of `ring_map` (which must be a BPF_MAP_TYPE_RINGBUF map) and registers its
    /// fd with `ex`'s reactor. The error names the map.
    static result<ring_buffer> create(const executor_type& ex, map ring_map, ring_buffer_options options = {});
    /// As create(), throwing bpfco::error_exception on failure.
    ring_buffer(const executor_type& ex, map ring_map, ring_buffer_options options = {});

    ring_buffer(ring_buffer&&) noexcept = default;
    ring_buffer& operator=(ring_buffer&& o) noexcept;
    ring_buffer(const ring_buffer&) = delete;
    ring_buffer& operator=(const ring_buffer&) = delete;
    /// Closes: a pending receive completes with operation_aborted. Batches still alive keep the
    /// mapping until they are released.
    ~ring_buffer();

    executor_type get_executor() const noexcept;
    /// The ring's data size in bytes (the map's max_entries).
    std::uint64_t capacity() const noexcept;
    /// Bytes written by the producer and not yet released by the consumer: the fill level.
    std::uint64_t available_bytes() const noexcept;

    /// Receives the records available now, waiting for a wake-up when there are none.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return boost::asio::async_initiate<Token, completion_signature>(initiate_receive(state_), token);
    }

    /// Reads what is in the ring now without waiting; the batch may be empty. Fails with
    /// bad_message on a corrupt length. Do not mix with a pending async_receive.
    result<ring_batch> try_receive();
    /// Checks the ring now and, when records are there, completes a pending receive with them:
    /// the explicit read for records whose wake-up the producer suppressed.
    void flush();
    /// Closes the stream; a pending receive completes with operation_aborted. Idempotent.
    void close() noexcept;
    bool is_open() const noexcept;

private:
    class initiate_receive {
    public:
        explicit initiate_receive(std::shared_ptr<detail::ring_state> s) noexcept : state_(std::move(s)) {}
        template <class Handler>
        void operator()(Handler&& handler) const {
            start(state_.get(), boost::asio::any_completion_handler<completion_signature>(
                                    std::forward<Handler>(handler)));
        }

    private:
        std::shared_ptr<detail::ring_state> state_;
    };
    static void start(detail::ring_state* state, boost::asio::any_completion_handler<completion_signature> handler);

    explicit ring_buffer(std::shared_ptr<detail::ring_state> s) noexcept : state_(std::move(s)) {}
    std::shared_ptr<detail::ring_state> state_;
};

/// The sum over CPUs of a producer-side drop counter: a BPF_MAP_TYPE_PERCPU_ARRAY with u32 keys
/// and u64 values, as bpfco_ringbuf_reserve() in <bpfco/ringbuf.bpf.h> increments when the
/// ring is full.
result<std::uint64_t> read_drop_counter(const map& drops, std::uint32_t key = 0);

}  // namespace bpfco
