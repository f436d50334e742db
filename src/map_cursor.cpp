#include <bpfco/map_cursor.hpp>

#include <bpfco/features.hpp>

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
      token_(std::max<std::size_t>(m.info().key_size, sizeof(std::uint64_t))) {
    if (how_ == read_method::automatic && !features::batch_ops()) how_ = read_method::per_key;
}

result<std::size_t> map_cursor::next(std::vector<std::byte>& keys, std::vector<std::byte>& values) {
    if (done_) return std::size_t{0};
    if (how_ == read_method::per_key) return next_per_key(keys, values);
    auto r = next_batch(keys, values);
    if (r.has_error() && how_ == read_method::automatic && !started_ &&
        batch_unsupported(r.error().code.value())) {
        how_ = read_method::per_key;
        return next_per_key(keys, values);
    }
    if (how_ == read_method::automatic) how_ = read_method::batch;
    started_ = true;
    return r;
}

result<std::size_t> map_cursor::next_batch(std::vector<std::byte>& keys, std::vector<std::byte>& values) {
    const std::size_t key_size = map_->info().key_size;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    next_token_.resize(token_.size());  // allocates on the first chunk only
    for (;;) {
        const std::size_t k0 = keys.size(), v0 = values.size();
        keys.resize(k0 + key_size * chunk_);
        values.resize(v0 + value_bytes_ * chunk_);
        std::uint32_t count = chunk_;
        auto& out = next_token_;
        int rc = bpf_map_lookup_batch(map_->fd(), started_ ? token_.data() : nullptr, out.data(),
                                      keys.data() + k0, values.data() + v0, &count, &opts);
        int e = rc == 0 ? 0 : errno;
        // ENOENT ends the walk; the entries of that last call are still valid.
        if (rc == 0 || e == ENOENT) {
            keys.resize(k0 + key_size * count);
            values.resize(v0 + value_bytes_ * count);
            token_.swap(out);
            started_ = true;
            if (e == ENOENT) done_ = true;
            if (count > 0 || done_) return std::size_t{count};
            continue;
        }
        keys.resize(k0);
        values.resize(v0);
        // A hash bucket holding more entries than the chunk cannot be split: retry larger.
        if (e == ENOSPC && chunk_ < map_->info().max_entries) {
            chunk_ = std::min(chunk_ * 2, map_->info().max_entries);
            continue;
        }
        return failure(map_->make_error(e, "batch lookup"));
    }
}

result<std::size_t> map_cursor::next_per_key(std::vector<std::byte>& keys, std::vector<std::byte>& values) {
    const std::size_t key_size = map_->info().key_size;
    std::size_t n = 0;
    std::vector<std::byte> next(key_size);
    while (n < chunk_) {
        BPFCO_TRY(bool more, map_->next_key_bytes(started_ ? last_key_.data() : nullptr, next.data()));
        started_ = true;
        if (!more) {
            done_ = true;
            break;
        }
        last_key_ = next;
        const std::size_t v0 = values.size();
        values.resize(v0 + value_bytes_);
        // The typed view checked value_size, but per-CPU maps copy value_bytes_ here.
        BPFCO_TRY(bool found, map_->lookup_bytes(next.data(), values.data() + v0));
        if (!found) {  // deleted between the two syscalls: not part of the dump
            values.resize(v0);
            continue;
        }
        keys.insert(keys.end(), next.begin(), next.end());
        ++n;
    }
    return n;
}

}  // namespace bpfco
