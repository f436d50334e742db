// An Asio I/O object over an AF_XDP socket (libxdp's xsk API): the umem and its four rings are
// set up here. An XDP program steers frames to the socket through an xskmap (xskmap.hpp); each
// receive completes with a batch of zero-copy frame views, handed back to the kernel (the fill
// ring) as one batch when released. Sends copy the frame into a umem frame of their own.
#pragma once

#include <bpfco/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <linux/if_xdp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string_view>

namespace bpfco {

namespace detail {
class xsk_state;
// Hands the batch's frames back to the fill ring and moves the receive ring's consumer past them.
void release(xsk_state& state, std::uint32_t first, std::uint32_t count) noexcept;
// Queues one frame for sending: {} when queued, would_block when the ring or the frames are busy.
boost::system::error_code try_send(xsk_state& state, std::span<const std::byte> frame) noexcept;
boost::asio::steady_timer& send_timer(xsk_state& state) noexcept;
}  // namespace detail

/// How the socket binds: copy works on every driver (veth, generic XDP); zero_copy needs driver
/// support; automatic lets the kernel choose.
enum class xsk_bind_mode : std::uint16_t { automatic = 0, copy = XDP_COPY, zero_copy = XDP_ZEROCOPY };

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
            const xdp_desc& d = b_->descs_[i_ & b_->mask_];
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
    /// \cond
    // Made by the socket's receive; detail::xsk_state is not part of the API.
    xsk_batch(std::shared_ptr<detail::xsk_state> state, const xdp_desc* descs, std::uint32_t mask,
              std::uint32_t first, std::uint32_t count, std::byte* umem) noexcept
        : state_(std::move(state)), descs_(descs), umem_(umem), mask_(mask), first_(first), count_(count) {}
    /// \endcond
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
    void release() noexcept {
        if (state_) {
            detail::release(*state_, first_, count_);
            state_.reset();
        }
    }

private:
    void take_from(xsk_batch& o) noexcept {
        state_ = std::move(o.state_);
        descs_ = o.descs_;
        umem_ = o.umem_;
        mask_ = o.mask_;
        first_ = o.first_;
        count_ = std::exchange(o.count_, 0);
    }

    std::shared_ptr<detail::xsk_state> state_;
    const xdp_desc* descs_ = nullptr;
    std::byte* umem_ = nullptr;
    std::uint32_t mask_ = 0;
    std::uint32_t first_ = 0;
    std::uint32_t count_ = 0;
};

/// An AF_XDP socket as an Asio I/O object: async_receive for batches of frames, async_send for
/// one frame at a time. Move-only; destruction closes it. Completion tokens as everywhere in
/// Asio (callbacks, use_awaitable, deferred, use_future). Per-operation cancellation is not
/// offered: close() completes pending operations with operation_aborted.
/// Thread safety: distinct sockets are safe; a shared socket, and its batches, are not (use
/// one thread or strand), as with Asio's sockets.
class xsk_socket {
public:
    /// The executor operations complete on unless the token's handler has its own.
    using executor_type = boost::asio::any_io_executor;
    /// Completion signature of async_receive: an error, or a non-empty batch.
    using receive_signature = void(boost::system::error_code, xsk_batch);
    /// Completion signature of async_send: an error, or the frame's size.
    using send_signature = void(boost::system::error_code, std::size_t);

    /// Creates the umem and the socket, bound to `interface`'s queue options.queue. No XDP
    /// program is loaded here: attach yours and put the socket in its xskmap. Errors name the
    /// interface and queue (also a ring size that is not a power of two, a frame size other than
    /// 2048 or 4096, or zero_copy on a driver without it).
    static result<xsk_socket> create(const executor_type& ex, std::string_view interface, xsk_options options = {});

    /// Takes `o`'s socket; `o` is left closed.
    xsk_socket(xsk_socket&& o) noexcept : ex_(o.ex_), state_(std::move(o.state_)) {}
    /// Closes this socket (as close()), then takes `o`'s.
    xsk_socket& operator=(xsk_socket&& o) noexcept;
    xsk_socket(const xsk_socket&) = delete;
    xsk_socket& operator=(const xsk_socket&) = delete;
    /// Closes the socket as close() does.
    ~xsk_socket();

    /// The executor given to create().
    executor_type get_executor() const noexcept;
    /// The AF_XDP socket (for xskmap::set).
    int fd() const noexcept;
    /// The queue the socket is bound to (options.queue).
    std::uint32_t queue() const noexcept;
    /// The kernel's drop counters; fails naming the socket (EBADF once moved from).
    result<xsk_statistics> statistics() const;

    /// Completes with at least one frame, or an error (operation_aborted when closed or cancelled
    /// while pending). One receive at a time.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(receive_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return boost::asio::async_initiate<Token, receive_signature>(initiate_receive(ex_, state_), token);
    }

    /// Sends one frame (a whole Ethernet frame, at most frame_size bytes), copied into the umem:
    /// `frame` must stay valid until the operation completes. When every send frame is in flight
    /// it waits for the kernel to complete one. One send at a time. Fails with invalid_argument
    /// (empty), message_size (larger than a frame), bad_descriptor (closed), operation_aborted.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(send_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_send(std::span<const std::byte> frame,
                    Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return boost::asio::async_compose<Token, send_signature>(send_op{ex_, state_, frame}, token, ex_);
    }

    /// Completes pending operations with operation_aborted and closes the socket; batches still
    /// held stay valid until released.
    void close() noexcept;
    /// False after close() or a move.
    bool is_open() const noexcept;

private:
    class initiate_receive {
    public:
        initiate_receive(executor_type ex, std::shared_ptr<detail::xsk_state> s) noexcept
            : ex_(std::move(ex)), state_(std::move(s)) {}
        template <class Handler>
        void operator()(Handler&& handler) const {
            start(ex_, state_.get(), boost::asio::any_completion_handler<receive_signature>(std::forward<Handler>(handler)));
        }

    private:
        executor_type ex_;
        std::shared_ptr<detail::xsk_state> state_;
    };
    static void start(const executor_type& ex, detail::xsk_state* state, boost::asio::any_completion_handler<receive_signature> handler);

    // Retries on a short timer while the ring is full: the kernel signals no edge when a send
    // frame completes, and a full ring is the rare case.
    struct send_op {
        executor_type ex;
        std::shared_ptr<detail::xsk_state> state;
        std::span<const std::byte> frame;
        bool started = false;

        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}) {
            if (!started) {  // never complete inside the initiating function
                started = true;
                return boost::asio::post(ex, std::move(self));
            }
            if (!state) return self.complete(boost::asio::error::bad_descriptor, 0);
            if (!ec) ec = detail::try_send(*state, frame);
            if (ec == boost::asio::error::would_block) {
                auto& timer = detail::send_timer(*state);
                timer.expires_after(std::chrono::microseconds(50));
                return timer.async_wait(std::move(self));
            }
            self.complete(ec, ec ? 0 : frame.size());
        }
    };

    xsk_socket(executor_type ex, std::shared_ptr<detail::xsk_state> s) noexcept : ex_(std::move(ex)), state_(std::move(s)) {}
    // Outside the state, so that a moved-from object keeps it, as Asio's I/O objects do.
    executor_type ex_;
    std::shared_ptr<detail::xsk_state> state_;
};

}  // namespace bpfco
