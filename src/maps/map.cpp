#include <bpfco/loader/features.hpp>
#include <bpfco/maps/map.hpp>

#include "internal/bpf_fd_kind.hpp"
#include "internal/hints.hpp"
#include "internal/libbpf_log.hpp"
#include "internal/mounts.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace bpfco {

result<map> map::from_fd(unique_fd fd) {
    bpf_map_info raw{};
    std::uint32_t len = sizeof raw;
    if (bpf_obj_get_info_by_fd(fd.get(), &raw, &len) != 0)
        return failure(errno, fmt::format("fd {}: not a BPF map: {}", fd.get(), std::strerror(errno)));
    map_info info;
    info.type = static_cast<map_type>(raw.type);
    info.id = raw.id;
    info.key_size = raw.key_size;
    info.value_size = raw.value_size;
    info.max_entries = raw.max_entries;
    info.flags = raw.map_flags;
    info.name = raw.name;
    return map(std::move(fd), std::move(info));
}

result<map> map::from_pinned(const std::string& path) {
    detail::ensure_bpffs();
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
        int e = errno;
        return failure(e, fmt::format("pinned map '{}': {}{}", path, std::strerror(e), privilege_hint(e)));
    }
    unique_fd owned(fd);
    if (auto kind = detail::bpf_fd_kind(fd); kind != "map")
        return failure(EINVAL, fmt::format("pinned map '{}': is a {}, not a map", path, kind));
    return from_fd(std::move(owned));
}

result<map> map::create(map_type type, std::string_view name, std::uint32_t key_size,
                        std::uint32_t value_size, std::uint32_t max_entries, std::uint32_t flags) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
    std::string n(name.substr(0, BPF_OBJ_NAME_LEN - 1));
    int fd = bpf_map_create(static_cast<bpf_map_type>(type), n.c_str(), key_size, value_size,
                            max_entries, &opts);
    if (fd < 0) {
        int e = errno;
        return failure(e, fmt::format("map '{}' ({}): cannot create: {}{}", n, type,
                                      std::strerror(e), privilege_hint(e)));
    }
    return from_fd(unique_fd(fd));
}

result<map> map::duplicate() const {
    int fd = ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return failure(make_error(errno, "dup"));
    map copy(unique_fd(fd), info_);
    copy.records_ = records_;
    return copy;
}

result<void> map::pin(const std::string& path) const {
    if (!detail::ensure_bpffs())
        return failure(make_error(errno, "bpffs is not mounted at /sys/fs/bpf and cannot be mounted"));
    if (bpf_obj_pin(fd_.get(), path.c_str()) != 0)
        return failure(make_error(errno, fmt::format("pin at '{}'", path)));
    ::chmod(path.c_str(), 0600);
    return boost::outcome_v2::success();
}

result<bool> map::lookup_bytes(const void* key, void* value) const {
    if (bpf_map_lookup_elem(fd_.get(), key, value) == 0) return true;
    if (errno == ENOENT) return false;
    return failure(make_error(errno, "lookup"));
}

result<void> map::insert_bytes(const void* key, const void* value, update_flags flags) const {
    if (bpf_map_update_elem(fd_.get(), key, value, static_cast<std::uint64_t>(flags)) == 0)
        return boost::outcome_v2::success();
    int e = errno;
    std::string_view why = e == EEXIST   ? "insert (key exists and no_exist was asked)"
                           : e == ENOENT ? "insert (key absent and exist was asked)"
                           : e == E2BIG  ? "insert (map is full)"
                                         : "insert";
    return failure(make_error(e, why));
}

result<bool> map::erase_bytes(const void* key) const {
    if (bpf_map_delete_elem(fd_.get(), key) == 0) return true;
    if (errno == ENOENT) return false;
    return failure(make_error(errno, "erase"));
}

result<bool> map::next_key_bytes(const void* key, void* next) const {
    if (bpf_map_get_next_key(fd_.get(), key, next) == 0) return true;
    if (errno == ENOENT) return false;
    return failure(make_error(errno, "next key"));
}

namespace {
// ENOTSUPP (524) is the kernel-internal code that map types without batch ops return.
bool batch_unsupported(int e) { return e == EOPNOTSUPP || e == 524; }
}  // namespace

// Both batch writes: `batch` is the kernel's batch call (it sets how many it processed), `one`
// writes entry i alone (0 or -1 with errno).
template <class Batch, class One>
static result<std::size_t> write_batch(const map& m, std::string_view what, std::size_t count, write_method how,
                                       Batch&& batch, One&& one) {
    std::size_t applied = 0;
    int e = 0;
    if (how == write_method::automatic && !features::batch_ops()) how = write_method::per_key;
    if (how != write_method::per_key && count > 0) {
        // The kernel counts in 32 bits: write in slices it can report on.
        while (applied < count) {
            auto n = static_cast<std::uint32_t>(std::min<std::size_t>(count - applied, 1u << 30));
            std::uint32_t done = n;
            if (batch(applied, &done) == 0) {
                applied += n;
                continue;
            }
            e = errno;
            // A map type without batch ops fails before touching anything (and leaves the count as given).
            if (how == write_method::automatic && applied == 0 && batch_unsupported(e)) {
                e = 0;
                how = write_method::per_key;
            } else {
                applied += done;
            }
            break;
        }
    }
    if (how == write_method::per_key)
        for (; applied < count; ++applied)
            if (one(applied) != 0) {
                e = errno;
                break;
            }
    if (e == 0) return count;
    std::string_view why = e == E2BIG    ? " (map is full)"
                           : e == EEXIST ? " (key exists and no_exist was asked)"
                           : e == ENOENT ? " (key absent)"
                                         : "";
    auto err = m.make_error(e, fmt::format("{}: entry {} of {} failed{}; {} of {} applied", what, applied, count,
                                           why, applied, count));
    err.applied = applied;
    return failure(std::move(err));
}

result<std::size_t> map::insert_batch_bytes(const void* keys, const void* values, std::size_t count,
                                            std::size_t value_bytes, update_flags flags, write_method how) const {
    auto k = static_cast<const std::byte*>(keys);
    auto v = static_cast<const std::byte*>(values);
    auto ks = info_.key_size;
    auto f = static_cast<std::uint64_t>(flags);
    return write_batch(
        *this, "insert_batch", count, how,
        [&](std::size_t from, std::uint32_t* n) {
            LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = f);
            return bpf_map_update_batch(fd(), k + from * ks, v + from * value_bytes, n, &opts);
        },
        [&](std::size_t i) { return bpf_map_update_elem(fd(), k + i * ks, v + i * value_bytes, f); });
}

result<std::size_t> map::erase_batch_bytes(const void* keys, std::size_t count, write_method how) const {
    auto k = static_cast<const std::byte*>(keys);
    auto ks = info_.key_size;
    return write_batch(
        *this, "erase_batch", count, how,
        [&](std::size_t from, std::uint32_t* n) { return bpf_map_delete_batch(fd(), k + from * ks, n, nullptr); },
        [&](std::size_t i) { return bpf_map_delete_elem(fd(), k + i * ks); });
}

result<void> map::check(std::span<const map_type> types, std::uint32_t key_size,
                        std::uint32_t value_size) const {
    if (!types.empty() && std::find(types.begin(), types.end(), info_.type) == types.end()) {
        std::string want;
        for (auto t : types) want += fmt::format("{}{}", want.empty() ? "" : " or ", t);
        return failure(EINVAL, fmt::format("map '{}': has type {}, the view needs {}", info_.name,
                                           info_.type, want));
    }
    if (info_.key_size != key_size || info_.value_size != value_size)
        return failure(EINVAL, fmt::format("map '{}': size mismatch: the kernel map has key size {} and "
                                           "value size {}, the view has key size {} and value size {}",
                                           info_.name, info_.key_size, info_.value_size, key_size, value_size));
    return boost::outcome_v2::success();
}

error map::make_error(int errnum, std::string_view what) const {
    return bpfco::make_error(errnum, fmt::format("map '{}': {}: {}{}", info_.name, what,
                                                 std::strerror(errnum), privilege_hint(errnum)));
}

}  // namespace bpfco
