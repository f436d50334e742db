#include <bpfco/maps/map_cursor.hpp>

#include <bpfco/loader/features.hpp>

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bpfco {

namespace {
// ENOTSUPP (524) is the kernel-internal code that map types without batch ops return.
constexpr int enotsupp = 524;
bool batch_unsupported(int e) { return e == EOPNOTSUPP || e == enotsupp; }
}  // namespace

map_cursor::map_cursor(const map& m, std::size_t value_bytes, read_method how)
    : map_(&m), value_bytes_(value_bytes), how_(how),
      // Fewer syscalls per entry up to a few thousand; past that the kernel's temporary
      // buffers grow without the rate improving.
      chunk_(std::clamp<std::uint32_t>(m.info().max_entries, 1, 4096)),
      // A hash map's token is a bucket index, an array's a key: room for either.
      token_(std::max<std::size_t>(m.info().key_size, sizeof(std::uint64_t))),
      next_token_(token_.size()) {
    if (how_ == read_method::automatic && !features::batch_ops()) how_ = read_method::per_key;
}

result<std::size_t> map_cursor::next(std::span<std::byte> keys, std::span<std::byte> values) {
    if (done_) return std::size_t{0};
    const auto room = static_cast<std::uint32_t>(
        std::min<std::size_t>({chunk_, keys.size() / map_->info().key_size, values.size() / value_bytes_}));
    if (room == 0) return std::size_t{0};
    if (how_ == read_method::per_key) return next_per_key(keys, values, room);
    auto r = next_batch(keys, values, room);
    if (r.has_error() && how_ == read_method::automatic && !started_ &&
        batch_unsupported(r.error().code.value())) {
        how_ = read_method::per_key;
        return next_per_key(keys, values, room);
    }
    if (how_ == read_method::automatic && started_) how_ = read_method::batch;
    return r;
}

result<std::size_t> map_cursor::next_batch(std::span<std::byte> keys, std::span<std::byte> values,
                                           std::uint32_t room) {
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    for (;;) {
        std::uint32_t count = room;
        int rc = bpf_map_lookup_batch(map_->fd(), started_ ? token_.data() : nullptr, next_token_.data(),
                                      keys.data(), values.data(), &count, &opts);
        int e = rc == 0 ? 0 : errno;
        // ENOENT ends the walk; the entries of that last call are still valid.
        if (rc == 0 || e == ENOENT) {
            token_.swap(next_token_);
            started_ = true;
            if (e == ENOENT) done_ = true;
            if (count > 0 || done_) return std::size_t{count};
            continue;
        }
        // A hash bucket holding more entries than the room cannot be split: a larger chunk, and
        // the caller's room for it first where that is what fell short.
        if (e == ENOSPC && room < chunk_) return std::size_t{0};
        if (e == ENOSPC && chunk_ < map_->info().max_entries) {
            chunk_ = std::min(chunk_ * 2, map_->info().max_entries);
            if (keys.size() / map_->info().key_size < chunk_ || values.size() / value_bytes_ < chunk_)
                return std::size_t{0};
            room = chunk_;
            continue;
        }
        return failure(map_->make_error(e, "batch lookup"));
    }
}

result<std::size_t> map_cursor::next_per_key(std::span<std::byte> keys, std::span<std::byte> values,
                                             std::uint32_t room) {
    const std::size_t key_size = map_->info().key_size;
    std::size_t n = 0;
    while (n < room) {
        std::byte* key = keys.data() + n * key_size;
        BPFCO_TRY(bool more, map_->next_key_bytes(started_ ? last_key_.data() : nullptr, key));
        started_ = true;
        if (!more) {
            done_ = true;
            break;
        }
        last_key_.assign(key, key + key_size);
        // The typed view checked value_size, but per-CPU maps copy value_bytes_ here.
        BPFCO_TRY(bool found, map_->lookup_bytes(key, values.data() + n * value_bytes_));
        if (found) ++n;  // else deleted between the two syscalls: not part of the dump
    }
    return n;
}

}  // namespace bpfco
