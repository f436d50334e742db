#include <bpfco/maps/stack_trace_map.hpp>

#include <bpf/bpf.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace bpfco {

result<stack_trace_map> stack_trace_map::make(bpfco::map m) {
    static constexpr std::array<map_type, 1> types{map_type::stack_trace};
    const auto& info = m.info();
    const std::uint32_t value_size =
        info.value_size % sizeof(std::uint64_t) == 0 && info.value_size != 0 ? info.value_size : 0;
    if (value_size == 0 && info.type == map_type::stack_trace)
        return failure(EINVAL, fmt::format("map '{}': value size {} is not a whole number of u64 addresses",
                                           info.name, info.value_size));
    BPFCO_TRY(m.check(types, sizeof(std::uint32_t), value_size));
    return stack_trace_map(std::move(m));
}

result<std::vector<std::uint64_t>> stack_trace_map::read(std::int32_t id) const {
    if (id < 0) return std::vector<std::uint64_t>{};
    const auto key = static_cast<std::uint32_t>(id);
    std::vector<std::uint64_t> frames(max_depth());
    BPFCO_TRY(auto found, map_.lookup_bytes(&key, frames.data()));
    if (!found) return std::vector<std::uint64_t>{};
    frames.erase(std::find(frames.begin(), frames.end(), 0), frames.end());
    return frames;
}

result<bool> stack_trace_map::erase(std::int32_t id) const {
    if (id < 0) return false;
    const auto key = static_cast<std::uint32_t>(id);
    return map_.erase_bytes(&key);
}

}  // namespace bpfco
