// map_watch: a periodic poll of a map as a stream of snapshots. Each snapshot carries every
// key's value (per-CPU values summed), its change since the previous snapshot and that change
// per second, so a map of counters reads as rates.
//
// An Asio I/O object shaped like asio::steady_timer: bound to an executor, one async_receive at a
// time, completion tokens of every kind (callbacks, use_awaitable, deferred, use_future,
// as_tuple).
//
// Schedule: drift-free. The first async_receive reads a baseline at once and completes one interval
// later; each later one completes at the previous deadline plus the interval, not "now plus the
// interval", so the time spent reading and in the caller does not accumulate. A caller that falls
// more than an interval behind skips the missed deadlines (it stays on the same grid) instead of
// receiving a burst of back-to-back snapshots. Rates divide by the measured time between reads,
// not by the nominal interval.
//
// The read itself is synchronous on the executor: a poll of 100,000 entries took tens of
// milliseconds here by batch and several times longer per key (docs/performance.md).
//
// Completion Signature:
//   void(boost::system::error_code ec, map_snapshot<K, V> snapshot)
//   ec is operation_aborted after cancel(), close(), destruction or per-operation
//   cancellation; bad_descriptor for an async_receive started after close(); otherwise the errno
//   of a failed map read (generic category). The snapshot is empty whenever ec is set.
//
// Per-Operation Cancellation:
//   Terminal cancellation (asio::cancellation_type::terminal, what `||` and
//   asio::cancel_after-style helpers emit) completes the pending async_receive with
//   operation_aborted. The watch stays usable: the next async_receive keeps the schedule.
//
// Thread Safety:
//   Distinct objects: safe. Shared objects: unsafe (call async_receive, cancel and close from one
//   thread or strand, as with Asio's own I/O objects).
#pragma once

#include <bpfco/maps/map_cursor.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace bpfco {

namespace detail {
/// Numeric order where the key has one (integers), byte order otherwise (structs, LPM keys).
template <class K>
bool key_less(const K& a, const K& b) {
    if constexpr (std::totally_ordered<K>)
        return a < b;
    else
        return std::memcmp(&a, &b, sizeof(K)) < 0;
}
}  // namespace detail

/// One poll of a map: every entry ordered by key.
template <class K, class V>
struct map_snapshot {
    /// One key's value and its change since the previous snapshot.
    struct entry {
        K key;        ///< the map's key
        V value;      ///< summed over CPUs for per-CPU maps
        V delta;      ///< value minus the previous snapshot's (the whole value for a new key)
        double rate;  ///< delta per second of measured time between the two reads
    };
    std::chrono::steady_clock::time_point time;  ///< when the read began
    std::chrono::nanoseconds elapsed{};          ///< since the previous read
    std::vector<entry> entries;                  ///< every entry, ordered by key

    /// The entry for `key`, or nullptr when the map does not hold it (binary search).
    const entry* find(const K& key) const {
        auto it = std::lower_bound(entries.begin(), entries.end(), key,
                                   [](const entry& e, const K& k) { return detail::key_less(e.key, k); });
        return it != entries.end() && !detail::key_less(key, it->key) ? &*it : nullptr;
    }
    /// 0 for a key the map does not hold.
    V value(const K& key) const { return find(key) ? find(key)->value : V{}; }
    /// The key's change since the previous snapshot; 0 for a key the map does not hold.
    V delta(const K& key) const { return find(key) ? find(key)->delta : V{}; }
    /// The key's change per second; 0 for a key the map does not hold.
    double rate(const K& key) const { return find(key) ? find(key)->rate : 0.0; }
};

/// Watches any typed view with counter values: hash_map, lru_hash_map, array, per_cpu_array,
/// per_cpu_hash_map.
template <class View>
class map_watch {
public:
    using key_type = typename View::key_type;                 ///< the view's key
    using value_type = typename View::value_type;             ///< the view's (summed) value
    using snapshot_type = map_snapshot<key_type, value_type>;  ///< what async_receive delivers
    using executor_type = boost::asio::any_io_executor;       ///< where async_receive completes
    using clock = std::chrono::steady_clock;                  ///< the clock of the schedule

    static_assert(std::is_arithmetic_v<value_type>,
                  "map_watch computes deltas and rates: the map's values must be counters");

    /// Polls `view` every `interval` (the first async_receive reads a baseline at once), reading
    /// it by `how`. Nothing is read before the first async_receive; a read error is reported by it.
    map_watch(const executor_type& ex, View view, clock::duration interval,
              read_method how = read_method::automatic)
        : ex_(ex), state_(std::make_shared<state>(ex, std::move(view), interval, how)) {}

    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    map_watch(ExecutionContext& ctx, View view, clock::duration interval,
              read_method how = read_method::automatic)
        : map_watch(ctx.get_executor(), std::move(view), interval, how) {}

    /// Takes `o`'s view and schedule; `o` keeps its executor and is left closed: async_receive
    /// fails with bad_descriptor, view() is an empty view, interval() is 0.
    map_watch(map_watch&& o) noexcept : ex_(o.ex_), state_(std::move(o.state_)) {}
    /// Closes this watch (as close()), then takes `o`'s view, schedule and executor.
    map_watch& operator=(map_watch&& o) noexcept {
        if (this != &o) {
            close();
            ex_ = o.ex_;
            state_ = std::move(o.state_);
        }
        return *this;
    }
    /// A pending async_receive completes with operation_aborted; nothing touches the map afterwards.
    ~map_watch() { close(); }

    /// The executor given at construction; valid after a move too.
    executor_type get_executor() const noexcept { return ex_; }
    /// The watched view (a default-constructed, empty one once moved from).
    const View& view() const noexcept {
        static const View none{};
        return state_ ? state_->view : none;
    }
    /// The poll interval (0 once moved from).
    clock::duration interval() const noexcept { return state_ ? state_->interval : clock::duration{}; }
    /// False after close() or a move.
    bool is_open() const noexcept { return state_ && state_->open; }

    /// Completes with the next snapshot at the next deadline (see the header comment).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, snapshot_type))
                  CompletionToken BOOST_ASIO_DEFAULT_COMPLETION_TOKEN_TYPE(executor_type)>
    auto async_receive(CompletionToken&& token BOOST_ASIO_DEFAULT_COMPLETION_TOKEN(executor_type)) {
        return boost::asio::async_compose<CompletionToken, void(boost::system::error_code, snapshot_type)>(
            receive_op{ex_, state_}, token, ex_);
    }

    /// Completes a pending async_receive with operation_aborted; the schedule is kept.
    void cancel() {
        if (state_) state_->timer.cancel();
    }
    /// cancel(), and every later async_receive fails with bad_descriptor.
    void close() {
        if (!state_) return;
        state_->open = false;
        state_->timer.cancel();
    }

private:
    using pairs = std::vector<std::pair<key_type, value_type>>;

    // Shared with the pending operation, so that destroying the watch while a completion is
    // already queued leaves that completion something valid to look at.
    struct state {
        state(const executor_type& ex, View v, clock::duration i, read_method h)
            : timer(ex), view(std::move(v)), interval(i), how(h) {}
        boost::asio::steady_timer timer;
        View view;
        clock::duration interval;
        read_method how;
        bool open = true;
        bool started = false;
        clock::time_point deadline{};
        clock::time_point last_time{};
        pairs last;

        result<pairs> read() const {
            result<pairs> r = [&] {
                if constexpr (requires { view.read_all_summed(how); })
                    return view.read_all_summed(how);
                else
                    return view.read_all(how);
            }();
            if (r.has_value())
                std::sort(r.value().begin(), r.value().end(),
                          [](const auto& a, const auto& b) { return detail::key_less(a.first, b.first); });
            return r;
        }

        snapshot_type diff(pairs now, clock::time_point t) {
            snapshot_type snap;
            snap.time = t;
            snap.elapsed = t - last_time;
            const double seconds = std::chrono::duration<double>(snap.elapsed).count();
            snap.entries.reserve(now.size());
            auto prev = last.begin();
            for (const auto& [k, v] : now) {
                // Both lists are sorted: one merge pass finds each key's previous value.
                while (prev != last.end() && detail::key_less(prev->first, k)) ++prev;
                const bool had = prev != last.end() && !detail::key_less(k, prev->first);
                const value_type before = had ? prev->second : value_type{};
                value_type d = v - before;
                // An unsigned counter that went down was reset (entry deleted and re-created):
                // what it holds now is what accumulated since.
                if constexpr (std::is_unsigned_v<value_type>)
                    if (v < before) d = v;
                snap.entries.push_back({k, v, d, seconds > 0 ? static_cast<double>(d) / seconds : 0.0});
            }
            last = std::move(now);
            last_time = t;
            return snap;
        }
    };

    struct receive_op {
        executor_type ex;
        std::shared_ptr<state> s;
        bool closed_at_start = false;
        bool waiting = false;

        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}) {
            if (!waiting && !s) {
                waiting = closed_at_start = true;
                return boost::asio::post(ex, std::move(self));
            }
            if (!waiting) {
                waiting = true;
                closed_at_start = !s->open;
                const auto now = clock::now();
                if (closed_at_start || !s->started) {
                    // Expired at once: the completion still goes through the executor, never
                    // inline from the initiating function.
                    s->timer.expires_at(now);
                } else {
                    s->deadline += s->interval;
                    if (s->deadline < now && s->interval.count() > 0)
                        s->deadline += (now - s->deadline) / s->interval * s->interval + s->interval;
                    s->timer.expires_at(s->deadline);
                }
                s->timer.async_wait(std::move(self));
                return;
            }
            if (closed_at_start) return self.complete(boost::asio::error::bad_descriptor, snapshot_type{});
            if (!ec && (!s->open || self.cancelled() != boost::asio::cancellation_type::none))
                ec = boost::asio::error::operation_aborted;
            if (ec) return self.complete(ec, snapshot_type{});

            const auto t = clock::now();
            auto r = s->read();
            if (r.has_error())
                return self.complete(boost::system::error_code(r.error().code.value(),
                                                               boost::system::generic_category()),
                                     snapshot_type{});
            if (!s->started) {
                s->started = true;
                s->last = std::move(r).value();
                s->last_time = t;
                s->deadline = t + s->interval;
                s->timer.expires_at(s->deadline);
                s->timer.async_wait(std::move(self));
                return;
            }
            self.complete({}, s->diff(std::move(r).value(), t));
        }
    };

    executor_type ex_;
    std::shared_ptr<state> state_;
};

}  // namespace bpfco
