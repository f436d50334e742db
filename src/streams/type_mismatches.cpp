#include <bpfco/streams/detail/type_mismatches.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bpfco::detail {

void type_mismatch_counter::note(std::size_t record_size, std::size_t type_size) const noexcept {
    count_.fetch_add(1, std::memory_order_relaxed);
    static const bool debug = [] {
        const char* v = std::getenv("BPFCO_DEBUG");
        return v != nullptr && std::strcmp(v, "1") == 0;
    }();
    if (debug && !logged_.exchange(true, std::memory_order_relaxed))
        std::fprintf(stderr,
                     "bpfco: %s: a record of %zu bytes read as a type of %zu bytes; counted in "
                     "type_mismatches() (logged once per stream)\n",
                     stream_.c_str(), record_size, type_size);
}

}  // namespace bpfco::detail
