#include <bpfco/maps/program_array.hpp>

#include <linux/bpf.h>

#include <array>
#include <cerrno>

namespace bpfco {

result<program_array> program_array::make(bpfco::map m) {
    static constexpr std::array<std::uint32_t, 1> types{BPF_MAP_TYPE_PROG_ARRAY};
    BPFCO_TRY(m.check(types, sizeof(std::uint32_t), sizeof(std::uint32_t)));
    return program_array(std::move(m));
}

result<void> program_array::set(std::uint32_t index, const program& prog) const {
    const int fd = prog.fd();
    if (fd < 0) return failure(map_.make_error(EBADF, "set: the program is not loaded"));
    const std::uint32_t value = static_cast<std::uint32_t>(fd);
    return map_.update_bytes(&index, &value, update_flags::any);
}

result<bool> program_array::clear(std::uint32_t index) const { return map_.erase_bytes(&index); }

}  // namespace bpfco
