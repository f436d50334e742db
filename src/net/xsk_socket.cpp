#include <bpfco/net/xsk_socket.hpp>
#include <bpfco/net/xskmap.hpp>

#include "internal/hints.hpp"
#include "streams/async_stream.hpp"

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <linux/if_xdp.h>

#include <fcntl.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace asio = boost::asio;
using boost::system::error_code;

namespace bpfco {
namespace detail {

class xsk_state final : public async_stream<xsk_state, xsk_batch> {
public:
    static constexpr std::string_view what = "AF_XDP socket";
    xsk_state(const asio::any_io_executor& ex, std::string interface, const xsk_options& o)
        : async_stream(ex, o.poll_interval), interface_(std::move(interface)), options_(o), send_timer_(ex) {}

    ~xsk_state() {
        if (xsk_) xsk_socket__delete(xsk_);
        if (umem_) xsk_umem__delete(umem_);
        if (area_) ::munmap(area_, area_size_);
    }

    result<void> open() {
        const auto& o = options_;
        if (o.ring_size == 0 || (o.ring_size & (o.ring_size - 1)) != 0)
            return failure(EINVAL, fmt::format("{}: ring size {} is not a power of two", name(), o.ring_size));
        if (o.frame_size != 2048 && o.frame_size != 4096)
            return failure(EINVAL, fmt::format("{}: frame size {} is neither 2048 nor 4096", name(), o.frame_size));
        const std::uint32_t frames = 2 * o.ring_size;
        area_size_ = std::size_t{frames} * o.frame_size;
        void* area = ::mmap(nullptr, area_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED) return failure(errno, fmt::format("{}: umem of {} bytes: {}", name(), area_size_,
                                                                  std::strerror(errno)));
        area_ = static_cast<std::byte*>(area);

        xsk_umem_config uc{};
        uc.fill_size = uc.comp_size = o.ring_size;
        uc.frame_size = o.frame_size;
        uc.frame_headroom = 0;
        if (int e = -xsk_umem__create(&umem_, area_, area_size_, &fill_, &comp_, &uc); e != 0) {
            umem_ = nullptr;
            return failure(e, fmt::format("{}: umem: {}{}", name(), std::strerror(e), privilege_hint(e)));
        }
        xsk_socket_config sc{};
        sc.rx_size = sc.tx_size = o.ring_size;
        // The user's XDP program steers frames here: libxdp must not load its own.
        sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
        sc.bind_flags = static_cast<std::uint16_t>(static_cast<std::uint16_t>(o.mode) | XDP_USE_NEED_WAKEUP);
        if (int e = -xsk_socket__create(&xsk_, interface_.c_str(), o.queue, umem_, &rx_, &tx_, &sc); e != 0) {
            xsk_ = nullptr;
            std::string_view why = e == ENODEV   ? " (no such interface in this network namespace)"
                                   : e == EINVAL ? " (no such queue, or a ring size the kernel refuses)"
                                   : e == EOPNOTSUPP && o.mode == xsk_bind_mode::zero_copy
                                       ? " (the driver has no zero-copy AF_XDP: use copy mode)"
                                       : "";
            return failure(e, fmt::format("{}: {}{}{}", name(), std::strerror(e), why, privilege_hint(e)));
        }

        // Frames [0, ring_size) receive: all of them wait in the fill ring. The rest send.
        std::uint32_t idx = 0;
        if (xsk_ring_prod__reserve(&fill_, o.ring_size, &idx) != o.ring_size)
            return failure(ENOBUFS, fmt::format("{}: fill ring refused {} frames", name(), o.ring_size));
        for (std::uint32_t i = 0; i < o.ring_size; ++i)
            *xsk_ring_prod__fill_addr(&fill_, idx + i) = std::uint64_t{i} * o.frame_size;
        xsk_ring_prod__submit(&fill_, o.ring_size);
        free_tx_.reserve(o.ring_size);
        for (std::uint32_t i = o.ring_size; i < frames; ++i) free_tx_.push_back(std::uint64_t{i} * o.frame_size);

        // The reactor gets its own fd so that closing the stream never closes the socket under a
        // batch that still points into its rings.
        int dup = ::fcntl(fd(), F_DUPFD_CLOEXEC, 0);
        if (dup < 0) return failure(errno, fmt::format("{}: dup: {}", name(), std::strerror(errno)));
        return assign_wake_fd(dup, name());
    }

    int fd() const noexcept { return xsk_socket__fd(xsk_); }
    std::uint32_t queue() const noexcept { return options_.queue; }
    asio::steady_timer& send_timer() noexcept { return send_timer_; }

    std::string name() const { return fmt::format("AF_XDP socket on '{}' queue {}", interface_, options_.queue); }

    result<xsk_batch> take() {
        const std::uint32_t max = options_.max_frames == 0 || options_.max_frames > options_.ring_size
                                      ? options_.ring_size
                                      : static_cast<std::uint32_t>(options_.max_frames);
        std::uint32_t first = 0;
        const std::uint32_t n = xsk_ring_cons__peek(&rx_, max, &first);
        if (n == 0) return xsk_batch();
        return xsk_batch(shared_from_this(), reinterpret_cast<const xsk_batch::frame_desc*>(xsk_ring_cons__rx_desc(&rx_, 0)),
                         rx_.mask, first, n, area_);
    }
    // A look at the rx ring's producer (what take() would find), with no syscall.
    bool may_have_records() noexcept { return xsk_cons_nb_avail(&rx_, 1) != 0; }

    void release(std::uint32_t first, std::uint32_t count) noexcept {
        if (count == 0) return;
        // Never short: the fill ring has an entry for every receive frame.
        std::uint32_t idx = 0;
        xsk_ring_prod__reserve(&fill_, count, &idx);
        const std::uint64_t frame_mask = ~std::uint64_t{options_.frame_size - 1};
        for (std::uint32_t i = 0; i < count; ++i)
            *xsk_ring_prod__fill_addr(&fill_, idx + i) = xsk_ring_cons__rx_desc(&rx_, first + i)->addr & frame_mask;
        xsk_ring_prod__submit(&fill_, count);
        xsk_ring_cons__release(&rx_, count);
        // Drivers that sleep on an empty fill ring need a kick to look at it again.
        if (is_open() && xsk_ring_prod__needs_wakeup(&fill_)) ::recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }

    error_code try_send(std::span<const std::byte> frame) noexcept {
        if (!is_open()) return asio::error::bad_descriptor;
        if (frame.empty()) return asio::error::invalid_argument;  // the kernel would only count it invalid
        if (frame.size() > options_.frame_size) return asio::error::message_size;
        reclaim();
        std::uint32_t idx = 0;
        if (free_tx_.empty() || xsk_ring_prod__reserve(&tx_, 1, &idx) != 1) {
            kick();  // completions come only after the kernel has been told to send
            return asio::error::would_block;
        }
        const std::uint64_t addr = free_tx_.back();
        free_tx_.pop_back();
        std::memcpy(area_ + addr, frame.data(), frame.size());
        auto* d = xsk_ring_prod__tx_desc(&tx_, idx);
        d->addr = addr;
        d->len = static_cast<std::uint32_t>(frame.size());
        d->options = 0;
        xsk_ring_prod__submit(&tx_, 1);
        return kick();
    }

    result<xsk_statistics> statistics() const {
        xdp_statistics s{};
        socklen_t len = sizeof s;
        if (::getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &s, &len) != 0)
            return failure(errno, fmt::format("{}: statistics: {}", name(), std::strerror(errno)));
        return xsk_statistics{s.rx_dropped, s.rx_invalid_descs, s.tx_invalid_descs, s.rx_ring_full,
                              s.rx_fill_ring_empty_descs, s.tx_ring_empty_descs};
    }

    // Also ends a send waiting for a frame.
    void close() noexcept {
        async_stream::close();
        send_timer_.cancel();
    }

    bool sending() const noexcept { return sending_; }
    void set_sending(bool on) noexcept { sending_ = on; }

private:
    using frame_desc = xsk_batch::frame_desc;
    static_assert(sizeof(frame_desc) == sizeof(xdp_desc) && offsetof(frame_desc, addr) == offsetof(xdp_desc, addr) &&
                  offsetof(frame_desc, len) == offsetof(xdp_desc, len));
    static_assert(static_cast<std::uint16_t>(xsk_bind_mode::copy) == XDP_COPY &&
                  static_cast<std::uint16_t>(xsk_bind_mode::zero_copy) == XDP_ZEROCOPY);

    void reclaim() noexcept {
        std::uint32_t idx = 0;
        const std::uint32_t n = xsk_ring_cons__peek(&comp_, options_.ring_size, &idx);
        for (std::uint32_t i = 0; i < n; ++i) free_tx_.push_back(*xsk_ring_cons__comp_addr(&comp_, idx + i));
        xsk_ring_cons__release(&comp_, n);
    }

    error_code kick() noexcept {
        if (!xsk_ring_prod__needs_wakeup(&tx_)) return {};
        if (::sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) return {};
        // The kernel keeps what it could not send yet and takes it at the next kick.
        if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS || errno == ENETDOWN) return {};
        return errno_code(errno);
    }

    std::string interface_;
    xsk_options options_;
    asio::steady_timer send_timer_;
    std::byte* area_ = nullptr;
    std::size_t area_size_ = 0;
    xsk_umem* umem_ = nullptr;
    ::xsk_socket* xsk_ = nullptr;  // libxdp's, not ours
    xsk_ring_prod fill_{}, tx_{};
    xsk_ring_cons comp_{}, rx_{};
    std::vector<std::uint64_t> free_tx_;
    bool sending_ = false;
};

template class io_object<xsk_state>;
template class event_stream<xsk_state, xsk_batch>;

namespace {

// Retries on a short timer while the ring is full: the kernel signals no edge when a send
// frame completes, and a full ring is the rare case.
struct send_op {
    std::shared_ptr<xsk_state> state;
    std::span<const std::byte> frame;
    bool started = false;

    template <class Self>
    void operator()(Self& self, error_code ec = {}) {
        if (!started) {  // never complete inside the initiating function
            started = true;
            return asio::post(state->executor(), std::move(self));
        }
        if (!ec) ec = state->try_send(frame);
        if (ec == asio::error::would_block) {
            auto& timer = state->send_timer();
            timer.expires_after(std::chrono::microseconds(50));
            return timer.async_wait(std::move(self));
        }
        state->set_sending(false);
        self.complete(ec, ec ? 0 : frame.size());
    }
};

}  // namespace
}  // namespace detail

void xsk_batch::release() noexcept {
    if (state_) {
        state_->release(first_, count_);
        state_.reset();
    }
}

result<xsk_socket> xsk_socket::create(const executor_type& ex, std::string_view interface, xsk_options options) {
    auto s = std::make_shared<detail::xsk_state>(ex, std::string(interface), options);
    BPFCO_TRY(s->open());
    return xsk_socket(ex, std::move(s));
}

xsk_socket::xsk_socket(const executor_type& ex, std::string_view interface, xsk_options options)
    : xsk_socket(create(ex, interface, options).value()) {}

int xsk_socket::fd() const noexcept { return state() ? state()->fd() : -1; }
std::uint32_t xsk_socket::queue() const noexcept { return state() ? state()->queue() : 0; }

result<xsk_statistics> xsk_socket::statistics() const {
    if (!state()) return failure(EBADF, "AF_XDP socket: moved from");
    return state()->statistics();
}

void xsk_socket::start_send(const executor_type& ex, const std::shared_ptr<detail::xsk_state>& state,
                            asio::any_completion_handler<send_signature> handler, std::span<const std::byte> frame) {
    if (auto ec = detail::start_error(state.get(), &detail::xsk_state::sending))
        return detail::refuse(ex, std::move(handler), ec);
    state->set_sending(true);
    asio::async_compose<asio::any_completion_handler<send_signature>, send_signature>(
        detail::send_op{state, frame}, handler, ex);
}

result<void> xskmap::insert(std::uint32_t queue, const xsk_socket& socket) const { return insert(queue, socket.fd()); }

}  // namespace bpfco
