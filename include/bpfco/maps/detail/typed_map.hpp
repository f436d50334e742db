// What the typed map views share: the size/type check at construction and byte-level access
// through bpfco::map. Not a public header; include the view you use (hash_map.hpp, ...).
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/btf_layout.hpp>
#include <bpfco/maps/map.hpp>
#include <bpfco/maps/map_cursor.hpp>
#include <bpfco/maps/map_entries.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace bpfco {
namespace detail {

/// Keys and values cross the syscall boundary as bytes: they must be copyable as bytes.
template <class T>
concept map_data = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>;

/// The one from_pinned() of the typed views: the map pinned at `path`, then View::make(map),
/// whose error is prefixed with the path.
template <class View>
struct view_from_pinned {
    static result<View> from_pinned(const std::string& path) {
        BPFCO_TRY(auto m, bpfco::map::from_pinned(path));
        auto v = View::make(std::move(m));
        if (!v) return failure(v.error().code.value(), "pinned map at '" + path + "': " + v.error().message);
        return v;
    }
};

/// The one make() of the typed views that take only a map (each derives from
/// view_factory<itself>): View::check(m) (the map's type, key and value sizes against the
/// kernel's map info, struct layouts against the map's BTF), then the view.
template <class View>
struct view_factory : view_from_pinned<View> {
    static result<View> make(bpfco::map m) {
        BPFCO_TRY(View::check(m));
        return View(std::move(m));
    }
};

template <class T>
T load(const std::byte* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// The shared part of every view: owns the map.
class typed_map_base {
public:
    /// The untyped map (for its fd and info, or to pass to calls that take a map).
    const bpfco::map& untyped() const noexcept { return map_; }
    /// The map's fd (-1 when empty); still owned by the view.
    int fd() const noexcept { return map_.fd(); }
    /// The kernel's name for the map.
    const std::string& name() const noexcept { return map_.name(); }
    /// The capacity the map was created with.
    std::uint32_t max_entries() const noexcept { return map_.info().max_entries; }
    /// True when the view holds a map.
    explicit operator bool() const noexcept { return bool(map_); }
    /// Pins the map at `path` under bpffs (as map::pin); re-open it with View::from_pinned(path).
    result<void> pin(const std::string& path) const { return map_.pin(path); }

protected:
    typed_map_base() = default;
    explicit typed_map_base(bpfco::map m) noexcept : map_(std::move(m)) {}
    bpfco::map map_;
};

/// Maps with one value per key: hash, LRU hash, array, LPM trie.
template <class K, class V, map_type... Types>
class key_value_map : public typed_map_base {
    static_assert(map_data<K> && map_data<V>, "map keys and values must be trivially copyable");

public:
    using key_type = K;
    using value_type = V;

    /// The value at `key`; std::nullopt when absent.
    result<std::optional<V>> lookup(const K& key) const {
        V v{};
        BPFCO_TRY(bool found, map_.lookup_bytes(&key, &v));
        if (!found) return std::optional<V>{};
        return std::optional<V>{v};
    }
    /// Writes key -> value, replacing the value of a present key unless `flags` say otherwise.
    result<void> insert(const K& key, const V& value, update_flags flags = update_flags::any) const {
        return map_.insert_bytes(&key, &value, flags);
    }
    /// Every key, by get-next-key.
    result<std::vector<K>> keys() const {
        std::vector<K> out;
        K cur{}, next{};
        const K* prev = nullptr;
        for (;;) {
            BPFCO_TRY(bool more, map_.next_key_bytes(prev, &next));
            if (!more) return out;
            out.push_back(next);
            cur = next;
            prev = &cur;
        }
    }
    /// Every entry into `out`, in place (its storage is reused from the previous read; empty
    /// after a failure); `how` picks the batch or the per-key path (see map_cursor).
    result<void> read_all(map_entries<K, V>& out, read_method how = read_method::automatic) const {
        return out.read(map_, how);
    }
    /// Every key/value pair as a vector of pairs: read_all(entries) plus one copy.
    result<std::vector<std::pair<K, V>>> read_all(read_method how = read_method::automatic) const {
        map_entries<K, V> entries;
        BPFCO_TRY(read_all(entries, how));
        std::vector<std::pair<K, V>> out;
        out.reserve(entries.size());
        for (auto [k, v] : entries) out.emplace_back(k, v);
        return out;
    }

    static result<void> check(const bpfco::map& m) {
        static constexpr std::array<map_type, sizeof...(Types)> types{Types...};
        BPFCO_TRY(m.check(types, sizeof(K), sizeof(V)));
        return check_map_types<K, V>(m.fd(), m.name());
    }

protected:
    using typed_map_base::typed_map_base;
};

/// Maps whose keys can be removed (not arrays).
template <class K, class V, map_type... Types>
class erasable_map : public key_value_map<K, V, Types...> {
public:
    /// Returns false when the key was absent.
    result<bool> erase(const K& key) const { return this->map_.erase_bytes(&key); }

protected:
    using key_value_map<K, V, Types...>::key_value_map;
};

}  // namespace detail
}  // namespace bpfco
