// An Asio I/O object over an AF_XDP socket (libxdp's xsk API): the umem and its four rings are
// set up here. An XDP program steers frames to the socket through an xskmap (xskmap.hpp); each
// receive completes with a batch of zero-copy frame views, handed back to the kernel (the fill
// ring) as one batch when released. Sends copy the frame into a umem frame of their own.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/streams/detail/event_stream.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

namespace bpfco {

namespace detail {
class xsk_state;
}  // namespace detail

/// How the socket binds: copy works on every driver (veth, generic XDP); zero_copy needs driver
/// support; automatic lets the kernel choose. The values are the kernel's XDP_COPY and XDP_ZEROCOPY.
enum class xsk_bind_mode : std::uint16_t { automatic = 0, copy = 1 << 1, zero_copy = 1 << 2 };

/// How xsk_socket::create sets up the socket and its umem; the defaults suit veth and generic XDP.
struct xsk_options {
    /// The interface's receive queue to bind to (where the XDP program's xskmap slot points).
    std::uint32_t queue = 0;
    /// Entries of each ring (a power of two). The umem holds twice as many frames: one per
    /// fill-ring entry for receiving, the other half for sending.
    std::uint32_t ring_size = 2048;
    /// Bytes per umem frame: 2048 or 4096 (a page), the largest frame that can be received.
    std::uint32_t frame_size = 4096;
    /// copy (the default) works everywhere; zero_copy fails on drivers without support.
    xsk_bind_mode mode = xsk_bind_mode::copy;
    /// Most frames per batch; 0: every frame available.
    std::size_t max_frames = 0;
    /// When nonzero, a pending receive also checks the ring this often (one timer per socket).
    std::chrono::steady_clock::duration poll_interval{};
};

/// The kernel's counters for the socket (XDP_STATISTICS): what it could not deliver.
struct xsk_statistics {
    std::uint64_t rx_dropped = 0;                ///< no room, or frames too large
    std::uint64_t rx_invalid_descs = 0;          ///< receive descriptors the kernel found invalid
    std::uint64_t tx_invalid_descs = 0;          ///< send descriptors the kernel refused
    std::uint64_t rx_ring_full = 0;              ///< frames dropped: the receive ring was full
    std::uint64_t rx_fill_ring_empty_descs = 0;  ///< frames that found no free umem frame
    std::uint64_t tx_ring_empty_descs = 0;       ///< times the kernel found the send ring empty
};

/// The frames one receive delivered, as views into the umem, valid while the batch lives.
/// Move-only; releasing (or destroying) it gives every frame back to the kernel at once.
/// Release batches in the order they were received. Not synchronised: use a batch on the
/// thread (or strand) that runs its socket's operations.
class xsk_batch {
public:
    /// Walks the frames in arrival order; each frame is a writable view into the umem (so a
    /// frame can be changed in place before it is sent on with xsk_socket::async_send).
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;  ///< one pass or many, forwards
        using value_type = std::span<std::byte>;              ///< a frame
        using difference_type = std::ptrdiff_t;               ///< distance between frames
        using pointer = void;                                 ///< frames are returned by value
        using reference = std::span<std::byte>;               ///< a frame, by value

        /// A singular iterator (only assignment is valid).
        iterator() = default;
        /// The frame: its bytes in the umem, valid while the batch lives.
        std::span<std::byte> operator*() const noexcept {
            const frame_desc& d = b_->descs_[i_ & b_->mask_];
            return {b_->umem_ + d.addr, d.len};
        }
        /// The next frame.
        iterator& operator++() noexcept {
            ++i_;
            return *this;
        }
        /// The next frame; returns the iterator as it was.
        iterator operator++(int) noexcept {
            auto old = *this;
            ++i_;
            return old;
        }
        /// Same position (of iterators into the same batch).
        bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }

    private:
        friend class xsk_batch;
        iterator(const xsk_batch* b, std::uint32_t i) noexcept : b_(b), i_(i) {}
        const xsk_batch* b_ = nullptr;
        std::uint32_t i_ = 0;  // ring index; wraps with the ring's 32-bit positions
    };

    /// An empty batch (what a failed receive completes with).
    xsk_batch() = default;
    /// Takes `o`'s frames; `o` is left empty.
    xsk_batch(xsk_batch&& o) noexcept { take_from(o); }
    /// Releases this batch's frames, then takes `o`'s; `o` is left empty.
    xsk_batch& operator=(xsk_batch&& o) noexcept {
        if (this != &o) {
            release();
            take_from(o);
        }
        return *this;
    }
    xsk_batch(const xsk_batch&) = delete;
    xsk_batch& operator=(const xsk_batch&) = delete;
    ~xsk_batch() { release(); }

    /// Number of frames (0 once released or moved from).
    std::size_t size() const noexcept { return count_; }
    /// No frames.
    bool empty() const noexcept { return count_ == 0; }
    /// The first frame.
    iterator begin() const noexcept { return {this, first_}; }
    /// Past the last frame.
    iterator end() const noexcept { return {this, first_ + count_}; }
    /// Frame `i` (i < size(), unchecked).
    std::span<std::byte> operator[](std::size_t i) const noexcept { return *iterator(this, first_ + static_cast<std::uint32_t>(i)); }

    /// Gives every frame back to the kernel's fill ring now (idempotent; destruction does the
    /// same). The frames' views are invalid afterwards.
    void release() noexcept;

private:
    friend class detail::xsk_state;
    // The kernel's struct xdp_desc, which the receive ring holds (checked in the source).
    struct frame_desc {
        std::uint64_t addr;
        std::uint32_t len;
        std::uint32_t options;
    };

    xsk_batch(std::shared_ptr<detail::xsk_state> state, const frame_desc* descs, std::uint32_t mask,
              std::uint32_t first, std::uint32_t count, std::byte* umem) noexcept
        : state_(std::move(state)), descs_(descs), umem_(umem), mask_(mask), first_(first), count_(count) {}

    void take_from(xsk_batch& o) noexcept {
        state_ = std::move(o.state_);
        descs_ = o.descs_;
        umem_ = o.umem_;
        mask_ = o.mask_;
        first_ = o.first_;
        count_ = std::exchange(o.count_, 0);
    }

    std::shared_ptr<detail::xsk_state> state_;
    const frame_desc* descs_ = nullptr;
    std::byte* umem_ = nullptr;
    std::uint32_t mask_ = 0;
    std::uint32_t first_ = 0;
    std::uint32_t count_ = 0;
};

namespace detail {
// Instantiated in src/net/xsk_socket.cpp, where xsk_state is defined.
extern template class io_object<xsk_state>;
extern template class event_stream<xsk_state, xsk_batch>;
}  // namespace detail

/// An AF_XDP socket as an Asio I/O object: async_receive for batches of frames (also
/// try_receive() and flush(), as ring_buffer), async_send for one frame at a time. Move-only;
/// destruction closes it. Completion tokens as everywhere in Asio (callbacks, use_awaitable,
/// deferred, use_future).
///
/// async_receive completes with at least one frame, or with `operation_aborted` (closed,
/// destroyed or cancelled while pending), `bad_descriptor` (started after close or a move),
/// `already_started` (another receive is pending). Per-operation cancellation of a receive:
/// terminal, partial and total; a cancelled receive has taken no frame. A send is not cancellable:
/// close() completes it with operation_aborted.
///
/// Thread safety: distinct sockets are safe; a shared socket, and its batches, are not (use
/// one thread or strand), as with Asio's sockets.
class xsk_socket : public detail::event_stream<detail::xsk_state, xsk_batch> {
public:
    /// Completion signature of async_receive: an error, or a non-empty batch.
    using receive_signature = completion_signature;
    /// Completion signature of async_send: an error, or the frame's size.
    using send_signature = void(boost::system::error_code, std::size_t);

    /// Creates the umem and the socket, bound to `interface`'s queue options.queue. No XDP
    /// program is loaded here: attach yours and put the socket in its xskmap. Errors name the
    /// interface and queue (also a ring size that is not a power of two, a frame size other than
    /// 2048 or 4096, or zero_copy on a driver without it).
    static result<xsk_socket> create(const executor_type& ex, std::string_view interface, xsk_options options = {});
    /// As create(), throwing bpfco::error_exception on failure.
    xsk_socket(const executor_type& ex, std::string_view interface, xsk_options options = {});
    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    xsk_socket(ExecutionContext& ctx, std::string_view interface, xsk_options options = {})
        : xsk_socket(executor_type(ctx.get_executor()), interface, options) {}
    /// Takes `o`'s socket; `o` keeps its executor and is left closed.
    xsk_socket(xsk_socket&& o) noexcept = default;
    /// Closes this socket (as close()), then takes `o`'s.
    xsk_socket& operator=(xsk_socket&& o) noexcept = default;
    /// Closes: pending operations complete with operation_aborted; batches still held stay
    /// valid until released.
    ~xsk_socket() = default;

    /// The AF_XDP socket (for xskmap::set); -1 once moved from.
    int fd() const noexcept;
    /// The queue the socket is bound to (options.queue).
    std::uint32_t queue() const noexcept;
    /// The kernel's drop counters; fails naming the socket (EBADF once moved from).
    result<xsk_statistics> statistics() const;

    /// Sends one frame (a whole Ethernet frame, at most frame_size bytes), copied into the umem:
    /// `frame` must stay valid until the operation completes. When every send frame is in flight
    /// it waits for the kernel to complete one. One send at a time. Fails with invalid_argument
    /// (empty), message_size (larger than a frame), bad_descriptor (closed), already_started
    /// (another send is pending), operation_aborted (closed while waiting).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(send_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_send(std::span<const std::byte> frame,
                    Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return this->template async_start<send_signature, &start_send>(std::forward<Token>(token), frame);
    }

private:
    xsk_socket(executor_type ex, std::shared_ptr<detail::xsk_state> s) noexcept
        : event_stream(std::move(ex), std::move(s)) {}
    static void start_send(const executor_type& ex, const std::shared_ptr<detail::xsk_state>& state,
                           boost::asio::any_completion_handler<send_signature> handler,
                           std::span<const std::byte> frame);
};

}  // namespace bpfco
