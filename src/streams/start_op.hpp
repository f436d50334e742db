// The start every stream operation composed in src/ shares: refused at once (bad_descriptor when
// closed or moved from, already_started while one is pending) through the executor, else marked
// pending and run as `op`, which clears `pending` when it completes.
#pragma once

#include <bpfco/streams/detail/io_object.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/compose.hpp>

#include <memory>
#include <utility>

namespace bpfco::detail {

template <class Signature, class Executor, class State, class Op>
void start_op(const Executor& ex, const std::shared_ptr<State>& state,
              boost::asio::any_completion_handler<Signature> handler, Op op) {
    if (auto ec = start_error(state.get())) return refuse(ex, std::move(handler), ec);
    state->pending = true;
    boost::asio::async_compose<boost::asio::any_completion_handler<Signature>, Signature>(std::move(op), handler, ex);
}

}  // namespace bpfco::detail
