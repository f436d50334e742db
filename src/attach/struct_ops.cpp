// object::attach_struct_ops: a struct_ops map registered with the kernel through libbpf's link.
#include <bpfco/attach/link.hpp>
#include <bpfco/loader/features.hpp>
#include <bpfco/loader/object.hpp>

#include "internal/hints.hpp"
#include "internal/libbpf_log.hpp"
#include "internal/link_access.hpp"

#include <bpf/libbpf.h>

#include <cerrno>

#include <fmt/format.h>

namespace bpfco {

result<link> object::attach_struct_ops(std::string_view map_name) const {
    BPFCO_TRY(auto m, find_map(map_name));
    const auto fail = [&](int e, std::string_view why) {
        return make_error(e, fmt::format("object '{}': struct_ops map '{}': register: {}{}", name_, map_name,
                                         detail::errno_text(e), why));
    };
    if (bpf_map__type(m) != BPF_MAP_TYPE_STRUCT_OPS)
        return failure(fail(EINVAL, fmt::format(" (a {} map, not struct_ops)", map_type(bpf_map__type(m)))));
    if (!loaded_) return failure(fail(EAGAIN, " (the object is not loaded yet)"));
    if (!features::fentry())
        return failure(fail(EOPNOTSUPP, " (this kernel cannot run struct_ops programs: they need BPF trampolines, which it lacks)"));
    detail::libbpf_capture cap;
    bpf_link* l = bpf_map__attach_struct_ops(m);
    const int e = errno;
    if (l) return detail::link_access::from_libbpf(l);
    std::string_view why;
    if (e == EEXIST) why = " (the kernel already has one of that name)";
    if (e == EBUSY) why = " (this map is registered already: it has one link at a time)";
    auto err = fail(e ? e : EINVAL, why);
    if (auto t = cap.tail(4); !t.empty()) err.message += "\n" + t;
    return failure(std::move(err));
}

}  // namespace bpfco
