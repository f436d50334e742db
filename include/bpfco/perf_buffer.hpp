// An Asio I/O object over a BPF_MAP_TYPE_PERF_EVENT_ARRAY: one PERF_COUNT_SW_BPF_OUTPUT event
// and mmapped ring per online CPU, all in one level-triggered epoll fd that the reactor watches.
// Records carry their CPU; lost-sample records arrive in the stream and are counted.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/map.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

namespace bpfco {

namespace detail {
class perf_state;
}

struct perf_buffer_options {
    /// Data pages per CPU ring, a power of two. Memory cost: (page_count + 1) x page size x online
    /// CPUs, e.g. 64 pages x 4 KiB x 8 CPUs = 2 MiB (+ one metadata page per CPU).
    std::size_t page_count = 64;
    /// The kernel wakes the reader after this many samples (perf's wakeup_events). Above 1 it
    /// trades latency for fewer wake-ups; flush() or a poll interval reads what it holds back.
    std::uint32_t wakeup_events = 1;
    /// Records taken from one CPU's ring before moving on to the next, so that one busy CPU
    /// cannot starve the others within a batch.
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
    enum class kind { sample, lost };

    perf_record(kind k, std::uint32_t cpu, std::span<const std::byte> data, std::uint64_t lost) noexcept
        : kind_(k), cpu_(cpu), lost_(lost), data_(data) {}

    kind type() const noexcept { return kind_; }
    bool is_lost() const noexcept { return kind_ == kind::lost; }
    /// The CPU whose ring held the record.
    std::uint32_t cpu() const noexcept { return cpu_; }
    /// A lost item: how many records the kernel dropped because this CPU's ring was full.
    std::uint64_t lost_count() const noexcept { return lost_; }
    /// A sample's raw bytes; perf pads them, so there may be up to 7 bytes after the data written.
    std::span<const std::byte> data() const noexcept { return data_; }

    /// A copy of the sample as T, or nullopt when this is a lost item or the size does not fit
    /// (between sizeof(T) and sizeof(T) + 7 bytes: the padding). A copy, not a view: perf raw
    /// data starts 4 bytes past an 8-byte boundary, so viewing it in place as T could misalign.
    template <class T>
    std::optional<T> as() const noexcept {
        static_assert(std::is_trivially_copyable_v<T>, "perf samples hold plain data");
        if (kind_ != kind::sample || data_.size() < sizeof(T) || data_.size() >= sizeof(T) + 8) return std::nullopt;
        T v;
        std::memcpy(&v, data_.data(), sizeof(T));
        return v;
    }

private:
    kind kind_;
    std::uint32_t cpu_;
    std::uint64_t lost_;
    std::span<const std::byte> data_;
};

/// The items one receive delivered. Move-only; releasing it (or destroying it) hands the space
/// back to every CPU ring it read from. Release a batch before receiving the next one: a record
/// that wrapped its ring lives in a per-ring scratch buffer that the next read reuses.
class perf_batch {
public:
    perf_batch() = default;
    perf_batch(std::shared_ptr<detail::perf_state> state, std::vector<perf_record> items) noexcept
        : state_(std::move(state)), items_(std::move(items)) {}
    perf_batch(perf_batch&& o) noexcept = default;
    perf_batch& operator=(perf_batch&& o) noexcept {
        if (this != &o) {
            release();
            state_ = std::move(o.state_);
            items_ = std::move(o.items_);
        }
        return *this;
    }
    perf_batch(const perf_batch&) = delete;
    perf_batch& operator=(const perf_batch&) = delete;
    ~perf_batch() { release(); }

    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }
    auto begin() const noexcept { return items_.cbegin(); }
    auto end() const noexcept { return items_.cend(); }
    const perf_record& operator[](std::size_t i) const noexcept { return items_[i]; }

    /// Commits now; the views become invalid. Idempotent.
    void release() noexcept;

private:
    std::shared_ptr<detail::perf_state> state_;
    std::vector<perf_record> items_;
};

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
/// Thread Safety: distinct objects are safe from different threads; a shared object is not.
/// One receive may be pending at a time.
class perf_buffer {
public:
    using executor_type = boost::asio::any_io_executor;
    using completion_signature = void(boost::system::error_code, perf_batch);

    /// Opens a BPF output event and ring for every online CPU and stores each in the map's slot
    /// for that CPU (slots of offline CPUs stay empty). Needs CAP_PERFMON (or root).
    static result<perf_buffer> create(const executor_type& ex, map perf_map, perf_buffer_options options = {});
    /// As create(), throwing bpfco::error_exception on failure.
    perf_buffer(const executor_type& ex, map perf_map, perf_buffer_options options = {});

    perf_buffer(perf_buffer&&) noexcept = default;
    perf_buffer& operator=(perf_buffer&& o) noexcept;
    perf_buffer(const perf_buffer&) = delete;
    perf_buffer& operator=(const perf_buffer&) = delete;
    /// Closes: a pending receive completes with operation_aborted.
    ~perf_buffer();

    executor_type get_executor() const noexcept;

    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return boost::asio::async_initiate<Token, completion_signature>(initiate_receive(state_), token);
    }

    /// Reads what is in the rings now without waiting; the batch may be empty.
    result<perf_batch> try_receive();
    /// Checks the rings now and completes a pending receive when they hold records: the explicit
    /// read for samples a wakeup_events above 1 holds back.
    void flush();
    void close() noexcept;
    bool is_open() const noexcept;

    /// Records the kernel reported lost, over every CPU, since the stream opened.
    std::uint64_t lost() const noexcept;
    /// Records lost on one CPU's ring.
    std::uint64_t lost(std::uint32_t cpu) const noexcept;
    /// The CPUs that have a ring (the online ones when the stream opened).
    std::vector<std::uint32_t> cpus() const;
    /// Bytes per CPU ring (page_count x page size).
    std::size_t ring_size() const noexcept;

private:
    class initiate_receive {
    public:
        explicit initiate_receive(std::shared_ptr<detail::perf_state> s) noexcept : state_(std::move(s)) {}
        template <class Handler>
        void operator()(Handler&& handler) const {
            start(state_.get(), boost::asio::any_completion_handler<completion_signature>(
                                    std::forward<Handler>(handler)));
        }

    private:
        std::shared_ptr<detail::perf_state> state_;
    };
    static void start(detail::perf_state* state, boost::asio::any_completion_handler<completion_signature> handler);

    explicit perf_buffer(std::shared_ptr<detail::perf_state> s) noexcept : state_(std::move(s)) {}
    std::shared_ptr<detail::perf_state> state_;
};

}  // namespace bpfco
