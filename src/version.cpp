#include <bpfco/version.hpp>

namespace bpfco {

std::string_view version() noexcept { return BPFCO_VERSION_STRING; }

}  // namespace bpfco
