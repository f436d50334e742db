// map_watch: a periodic poll of a map as a stream of snapshots, each with every key's value, its
// change since the previous snapshot and that change per second (docs/streams.md: the schedule).
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/maps/map_cursor.hpp>
#include <bpfco/streams/detail/io_object.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution_context.hpp>
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

namespace detail {

// Shared with the pending operation, so that destroying the watch while a completion is
// already queued leaves that completion something valid to look at.
template <class View>
struct map_watch_state {
    using key_type = typename View::key_type;
    using value_type = typename View::value_type;
    using clock = std::chrono::steady_clock;
    using pairs = std::vector<std::pair<key_type, value_type>>;
    using snapshot_type = map_snapshot<key_type, value_type>;

    map_watch_state(const boost::asio::any_io_executor& ex, View v, clock::duration i, read_method h)
        : timer(ex), view(std::move(v)), interval(i), how(h) {}

    bool is_open() const noexcept { return open; }
    bool busy() const noexcept { return pending; }
    void close() noexcept {
        open = false;
        timer.cancel();
    }

    boost::asio::steady_timer timer;
    View view;
    clock::duration interval;
    read_method how;
    bool open = true;
    bool pending = false;
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
                      [](const auto& a, const auto& b) { return key_less(a.first, b.first); });
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
            while (prev != last.end() && key_less(prev->first, k)) ++prev;
            const bool had = prev != last.end() && !key_less(k, prev->first);
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

// One receive: wait for the next deadline (at once for the baseline), read, diff.
template <class View>
struct map_watch_receive_op {
    using state = map_watch_state<View>;
    using clock = typename state::clock;
    std::shared_ptr<state> s;
    bool waiting = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
        if (!waiting) {
            waiting = true;
            const auto now = clock::now();
            if (!s->started) {
                // Expired at once: the completion still goes through the executor, never
                // inline from the initiating function.
                s->timer.expires_at(now);
            } else {
                // Drift-free: the previous deadline plus the interval, skipping missed ones.
                s->deadline += s->interval;
                if (s->deadline < now && s->interval.count() > 0)
                    s->deadline += (now - s->deadline) / s->interval * s->interval + s->interval;
                s->timer.expires_at(s->deadline);
            }
            return s->timer.async_wait(std::move(self));
        }
        if (!ec && (!s->open || self.cancelled() != boost::asio::cancellation_type::none))
            ec = boost::asio::error::operation_aborted;
        if (ec) return finish(self, ec, {});

        const auto t = clock::now();
        auto r = s->read();
        if (r.has_error()) return finish(self, errno_code(r.error().code.value()), {});
        if (!s->started) {
            s->started = true;
            s->last = std::move(r).value();
            s->last_time = t;
            s->deadline = t + s->interval;
            s->timer.expires_at(s->deadline);
            return s->timer.async_wait(std::move(self));
        }
        finish(self, {}, s->diff(std::move(r).value(), t));
    }

    template <class Self>
    void finish(Self& self, boost::system::error_code ec, typename state::snapshot_type snap) {
        s->pending = false;
        self.complete(ec, std::move(snap));
    }
};

}  // namespace detail

/// Watches any typed view with counter values: hash_map, lru_hash_map, array, per_cpu_array,
/// per_cpu_hash_map.
///
/// Schedule: the first async_receive reads a baseline at once and completes one interval later;
/// each later one completes at the previous deadline plus the interval (drift-free, missed
/// deadlines skipped). Rates divide by the measured time between reads. The read itself is
/// synchronous on the executor.
///
/// Completion Signature: `void(boost::system::error_code, map_snapshot<K, V>)`. Errors:
/// `operation_aborted` after cancel(), close(), destruction or per-operation (terminal)
/// cancellation, and the watch stays on its schedule; `bad_descriptor` when started after close
/// or a move; `already_started` while another receive is pending; otherwise the errno of a
/// failed map read. The snapshot is empty whenever there is an error.
///
/// Thread Safety: distinct objects are safe; a shared object is not (call async_receive,
/// cancel and close from one thread or strand, as with Asio's own I/O objects).
template <class View>
class map_watch : public detail::io_object<detail::map_watch_state<View>> {
    using state_type = detail::map_watch_state<View>;

public:
    using key_type = typename View::key_type;                 ///< the view's key
    using value_type = typename View::value_type;             ///< the view's (summed) value
    using snapshot_type = map_snapshot<key_type, value_type>;  ///< what async_receive delivers
    using executor_type = boost::asio::any_io_executor;       ///< where async_receive completes
    using clock = std::chrono::steady_clock;                  ///< the clock of the schedule
    /// Completion signature of async_receive: an error, or the next snapshot.
    using completion_signature = void(boost::system::error_code, snapshot_type);

    static_assert(std::is_arithmetic_v<value_type>,
                  "map_watch computes deltas and rates: the map's values must be counters");

    /// Polls `view` every `interval`, reading it by `how`. Nothing is read before the first
    /// async_receive, which reports a read error; so this never fails (create() is here for
    /// uniformity with the other streams).
    static result<map_watch> create(const executor_type& ex, View view, clock::duration interval,
                                    read_method how = read_method::automatic) {
        return map_watch(ex, std::move(view), interval, how);
    }
    /// As create().
    map_watch(const executor_type& ex, View view, clock::duration interval, read_method how = read_method::automatic)
        : detail::io_object<state_type>(ex, std::make_shared<state_type>(ex, std::move(view), interval, how)) {}
    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    map_watch(ExecutionContext& ctx, View view, clock::duration interval, read_method how = read_method::automatic)
        : map_watch(executor_type(ctx.get_executor()), std::move(view), interval, how) {}
    /// Takes `o`'s view and schedule; `o` keeps its executor and is left closed: async_receive
    /// fails with bad_descriptor, view() is an empty view, interval() is 0.
    map_watch(map_watch&& o) noexcept = default;
    /// Closes this watch (as close()), then takes `o`'s view, schedule and executor.
    map_watch& operator=(map_watch&& o) noexcept = default;
    /// Closes: a pending async_receive completes with operation_aborted; nothing touches the map
    /// afterwards.
    ~map_watch() = default;

    /// The watched view (a default-constructed, empty one once moved from).
    const View& view() const noexcept {
        static const View none{};
        return this->state() ? this->state()->view : none;
    }
    /// The poll interval (0 once moved from).
    clock::duration interval() const noexcept { return this->state() ? this->state()->interval : clock::duration{}; }

    /// Completes with the next snapshot at the next deadline (see the class comment).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return this->template async_start<completion_signature, &start_receive>(std::forward<Token>(token));
    }

    /// Completes a pending async_receive with operation_aborted; the schedule is kept.
    void cancel() {
        if (this->state()) this->state()->timer.cancel();
    }

private:
    static void start_receive(const executor_type& ex, const std::shared_ptr<state_type>& s,
                              boost::asio::any_completion_handler<completion_signature> handler) {
        if (auto ec = detail::start_error(s.get())) return detail::refuse(ex, std::move(handler), ec);
        s->pending = true;
        boost::asio::async_compose<boost::asio::any_completion_handler<completion_signature>, completion_signature>(
            detail::map_watch_receive_op<View>{s}, handler, ex);
    }
};

}  // namespace bpfco
