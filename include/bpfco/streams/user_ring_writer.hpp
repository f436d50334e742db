// The writer side of a BPF_MAP_TYPE_USER_RINGBUF map: user space reserves and submits records,
// BPF consumes them with bpf_user_ringbuf_drain(). libbpf's user_ring_buffer does the ring
// protocol; this class adds an awaitable reserve that waits, without blocking a thread, until the
// BPF side has drained enough room.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/maps/map.hpp>
#include <bpfco/streams/detail/io_object.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

namespace bpfco {

namespace detail {
struct user_ring_state;
// Instantiated in src/streams/user_ring_writer.cpp, where user_ring_state is defined.
extern template class io_object<user_ring_state>;
}  // namespace detail

/// A user ring buffer writer as an Asio I/O object.
///
/// Records are reserved (try_reserve() now, or async_reserve() waiting for room), filled in place
/// and then submitted or discarded, in any order; BPF sees them in reservation order.
///
/// async_reserve: Completion Signature `void(boost::system::error_code, std::span<std::byte>)`.
/// It completes with the reserved record, or with `operation_aborted` (cancelled, or the writer
/// closed), `bad_descriptor` (started after close), `already_started` (another reserve is
/// pending), `message_size` (the record can never fit this ring), or an errno. It waits on the
/// map fd's writability, which the kernel signals whenever BPF has drained records (unless the
/// drain asked for BPF_RB_NO_WAKEUP); while some room is free but too little for the record, it
/// retries on a short timer (50 us doubling to 1 ms) instead. Per-operation cancellation: terminal, partial and total; a
/// cancelled reserve has reserved nothing.
///
/// Thread Safety: as Asio sockets (one object, one strand). One reserve may be pending at a time.
class user_ring_writer : public detail::io_object<detail::user_ring_state> {
public:
    /// Completion signature of async_reserve: an error, or the reserved record.
    using completion_signature = void(boost::system::error_code, std::span<std::byte>);

    /// `ring` must be a BPF_MAP_TYPE_USER_RINGBUF map; the error names it.
    static result<user_ring_writer> create(const executor_type& ex, map ring);
    /// As create(), throwing bpfco::error_exception on failure.
    user_ring_writer(const executor_type& ex, map ring);
    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    user_ring_writer(ExecutionContext& ctx, map ring) : user_ring_writer(executor_type(ctx.get_executor()), std::move(ring)) {}
    /// Takes `o`'s ring; `o` keeps its executor and is left closed.
    user_ring_writer(user_ring_writer&& o) noexcept = default;
    /// Closes this writer (as close()), then takes `o`'s ring.
    user_ring_writer& operator=(user_ring_writer&& o) noexcept = default;
    /// Closes: a pending reserve completes with operation_aborted; records reserved and not yet
    /// submitted are discarded with the ring.
    ~user_ring_writer() = default;

    /// The ring's data size in bytes (the map's max_entries); a record takes 8 more, rounded up
    /// to 8. 0 once moved from.
    std::uint32_t capacity() const noexcept;

    /// Reserves `size` bytes now: ENOSPC when the ring has no room yet, E2BIG when it never will,
    /// EBADF when closed.
    result<std::span<std::byte>> try_reserve(std::uint32_t size);
    /// Hands a reserved record to BPF.
    void submit(std::span<std::byte> record) noexcept;
    /// Gives a reserved record back unread.
    void discard(std::span<std::byte> record) noexcept;

    /// Reserves `size` bytes, waiting until BPF has drained enough room. See the class for errors.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_reserve(std::uint32_t size, Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return this->template async_start<completion_signature, &start_reserve>(std::forward<Token>(token), size);
    }

private:
    user_ring_writer(executor_type ex, std::shared_ptr<detail::user_ring_state> s) noexcept
        : io_object(std::move(ex), std::move(s)) {}
    static void start_reserve(const executor_type& ex, const std::shared_ptr<detail::user_ring_state>& state,
                              boost::asio::any_completion_handler<completion_signature> handler, std::uint32_t size);
};

}  // namespace bpfco
