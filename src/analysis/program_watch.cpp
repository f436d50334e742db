#include <bpfco/analysis/program_watch.hpp>

#include "streams/start_op.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <utility>

namespace asio = boost::asio;

namespace bpfco {
namespace detail {

struct program_watch_state {
    using clock = program_watch::clock;

    program_watch_state(const asio::any_io_executor& ex, program_sampler s, clock::duration i, clock::time_point first)
        : timer(ex), sampler(std::move(s)), interval(i), deadline(first) {}

    bool is_open() const noexcept { return open; }
    bool busy() const noexcept { return pending; }
    void close() noexcept {
        open = false;
        timer.cancel();
    }

    asio::steady_timer timer;
    program_sampler sampler;
    clock::duration interval;
    clock::time_point deadline;  // of the next snapshot
    bool open = true;
    bool pending = false;
};

template class io_object<program_watch_state>;

namespace {

// One receive: wait for the deadline, snapshot, compare.
struct receive_op {
    std::shared_ptr<program_watch_state> s;
    bool waiting = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
        if (!waiting) {
            waiting = true;
            s->timer.expires_at(s->deadline);
            return s->timer.async_wait(std::move(self));
        }
        if (!ec && (!s->open || self.cancelled() != asio::cancellation_type::none))
            ec = asio::error::operation_aborted;
        if (ec) return finish(self, ec, {});
        // Drift-free: the next deadline is this one plus the interval, skipping missed ones.
        const auto now = program_watch_state::clock::now();
        s->deadline += s->interval;
        if (s->deadline < now) s->deadline += (now - s->deadline) / s->interval * s->interval + s->interval;
        auto r = s->sampler.sample();
        if (!r) return finish(self, errno_code(r.error().code.value()), {});
        finish(self, {}, std::move(r).value());
    }

    template <class Self>
    void finish(Self& self, boost::system::error_code ec, program_stats stats) {
        s->pending = false;
        self.complete(ec, std::move(stats));
    }
};

}  // namespace
}  // namespace detail

result<program_watch> program_watch::create(const executor_type& ex, clock::duration interval) {
    if (interval <= clock::duration::zero())
        return failure(EINVAL, "program watch: the interval must be more than 0");
    program_sampler sampler;
    BPFCO_TRY(auto baseline, sampler.sample());
    return program_watch(ex, std::make_shared<detail::program_watch_state>(ex, std::move(sampler), interval,
                                                                           baseline.time + interval));
}

program_watch::program_watch(const executor_type& ex, clock::duration interval)
    : program_watch(create(ex, interval).value()) {}

program_watch::clock::duration program_watch::interval() const noexcept {
    return state() ? state()->interval : clock::duration{};
}

void program_watch::cancel() {
    if (state()) state()->timer.cancel();
}

void program_watch::start_receive(const executor_type& ex, const std::shared_ptr<detail::program_watch_state>& state,
                                  asio::any_completion_handler<completion_signature> handler) {
    detail::start_op<completion_signature>(ex, state, std::move(handler), detail::receive_op{state});
}

}  // namespace bpfco
