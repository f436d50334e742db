#include <bpfco/net/cpumap.hpp>

#include <linux/bpf.h>

namespace bpfco {

result<cpumap> cpumap::make(bpfco::map m) {
    BPFCO_TRY(detail::check_slot_map(m, map_type::cpumap));
    return cpumap(std::move(m));
}

result<void> cpumap::insert(std::uint32_t cpu, std::uint32_t queue_size) const {
    return detail::insert_slot(map_, cpu, queue_size, nullptr, "queue size");
}

result<void> cpumap::insert(std::uint32_t cpu, std::uint32_t queue_size, const program& second) const {
    return detail::insert_slot(map_, cpu, queue_size, &second, "queue size");
}

result<std::optional<std::uint32_t>> cpumap::queue_size(std::uint32_t cpu) const {
    BPFCO_TRY(auto v, detail::get_slot(map_, cpu));
    if (!v) return std::optional<std::uint32_t>{};
    return std::optional<std::uint32_t>{v->first};
}

}  // namespace bpfco
