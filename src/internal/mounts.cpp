#include "internal/mounts.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace bpfco::detail {

bool ensure_mounted(const char* fstype, const char* where) {
    static std::mutex m;
    std::lock_guard lock(m);
    struct magic {
        const char* fstype;
        unsigned long value;
    };
    static constexpr magic magics[] = {{"tracefs", 0x74726163}, {"debugfs", 0x64626720}, {"bpf", 0xcafe4a11},
                                       {"securityfs", 0x73636673}};
    unsigned long want = 0;
    for (const auto& [n, v] : magics)
        if (std::strcmp(n, fstype) == 0) want = v;
    struct statfs st {};
    if (::statfs(where, &st) == 0 && static_cast<unsigned long>(st.f_type) == want) return true;
    ::mkdir(where, 0700);
    return ::mount(fstype, where, fstype, 0, nullptr) == 0 || errno == EBUSY;
}

}  // namespace bpfco::detail
