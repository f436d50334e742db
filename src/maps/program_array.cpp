#include <bpfco/loader/program.hpp>
#include <bpfco/maps/program_array.hpp>

#include <linux/bpf.h>

#include <array>
#include <cerrno>

namespace bpfco {

result<program_array> program_array::make(bpfco::map m) {
    static constexpr std::array<map_type, 1> types{map_type::prog_array};
    BPFCO_TRY(m.check(types, sizeof(std::uint32_t), sizeof(std::uint32_t)));
    return program_array(std::move(m));
}

result<void> program_array::insert(std::uint32_t index, const program& prog) const {
    const int fd = prog.fd();
    if (fd < 0) return failure(map_.make_error(EBADF, "insert: the program is not loaded"));
    const std::uint32_t value = static_cast<std::uint32_t>(fd);
    return map_.insert_bytes(&index, &value, update_flags::any);
}

result<bool> program_array::erase(std::uint32_t index) const { return map_.erase_bytes(&index); }

}  // namespace bpfco
