#include <bpfco/streams/user_ring_writer.hpp>

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

namespace bpfco {

user_ring_writer::state::~state() {
    if (rb) user_ring_buffer__free(rb);
}

result<user_ring_writer> user_ring_writer::create(const executor_type& ex, map ring) {
    if (ring.info().type != map_type::user_ringbuf)
        return failure(ring.make_error(EINVAL, fmt::format("a user ring buffer needs a user_ringbuf map, not {}",
                                                           ring.info().type)));
    auto s = std::make_shared<state>(ex, std::move(ring));
    s->rb = user_ring_buffer__new(s->ring.fd(), nullptr);
    if (!s->rb) {
        int e = errno;
        return failure(s->ring.make_error(e, "mapping the user ring buffer"));
    }
    int fd = ::fcntl(s->ring.fd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        return failure(s->ring.make_error(e, "duplicating the map fd"));
    }
    boost::system::error_code ec;
    s->wake.assign(fd, ec);
    if (ec) {
        ::close(fd);
        return failure(s->ring.make_error(ec.value(), "registering with the reactor"));
    }
    return user_ring_writer(ex, std::move(s));
}

user_ring_writer::user_ring_writer(const executor_type& ex, map ring)
    : user_ring_writer(create(ex, std::move(ring)).value()) {}

int user_ring_writer::reserve(state& s, std::uint32_t size, std::span<std::byte>* out) noexcept {
    void* p = user_ring_buffer__reserve(s.rb, size);
    if (!p) return errno ? errno : ENOSPC;
    *out = {static_cast<std::byte*>(p), size};
    return 0;
}

result<std::span<std::byte>> user_ring_writer::try_reserve(std::uint32_t size) {
    std::span<std::byte> record;
    if (!state_) return failure(EBADF, "user ring buffer: reserve on a moved-from writer");
    if (state_->closed) return failure(state_->ring.make_error(EBADF, "reserve after close"));
    int e = reserve(*state_, size, &record);
    if (e == ENOSPC)
        return failure(state_->ring.make_error(e, fmt::format("reserve {} bytes: the ring is full until BPF drains it", size)));
    if (e == E2BIG)
        return failure(state_->ring.make_error(
            e, fmt::format("reserve {} bytes: larger than the ring ({} bytes) can ever hold", size, capacity())));
    if (e) return failure(state_->ring.make_error(e, fmt::format("reserve {} bytes", size)));
    return record;
}

void user_ring_writer::submit(std::span<std::byte> record) noexcept {
    // A moved-from writer cannot have reserved the record: nothing to hand over.
    if (state_) user_ring_buffer__submit(state_->rb, record.data());
}
void user_ring_writer::discard(std::span<std::byte> record) noexcept {
    if (state_) user_ring_buffer__discard(state_->rb, record.data());
}

}  // namespace bpfco
