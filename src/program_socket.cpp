// Socket programs: sk_msg/sk_skb on socket maps. sock_ops programs go through
// program::attach_cgroup(path, BPF_CGROUP_SOCK_OPS), a cgroup link like every other cgroup hook.
#include <bpfco/map.hpp>
#include <bpfco/program.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

#include <fmt/format.h>

namespace bpfco {

result<link> attach_sockmap(const program& prog, const map& sockmap) {
    const auto type = sockmap.info().type;
    if (type != BPF_MAP_TYPE_SOCKMAP && type != BPF_MAP_TYPE_SOCKHASH)
        return failure(prog.make_error(EINVAL, fmt::format("attach to map '{}': it is a {} map, not a sockmap or "
                                                           "sockhash", sockmap.name(), map_type_name(type))));
    const auto attach_type = bpf_program__expected_attach_type(prog.native_handle());
    if (attach_type != BPF_SK_MSG_VERDICT && attach_type != BPF_SK_SKB_STREAM_PARSER &&
        attach_type != BPF_SK_SKB_STREAM_VERDICT && attach_type != BPF_SK_SKB_VERDICT)
        return failure(prog.make_error(EINVAL, fmt::format("attach to map '{}': section '{}' is not sk_msg or "
                                                           "sk_skb/...", sockmap.name(), prog.section())));
    const int fd = bpf_link_create(prog.fd(), sockmap.fd(), attach_type, nullptr);
    if (fd >= 0) return link(unique_fd(fd));
    const int e = errno;
    return failure(prog.make_error(e, fmt::format("attach to map '{}'{}", sockmap.name(),
                                                  e == EINVAL ? " (sockmap links need Linux 6.10, or the "
                                                                "program is attached there already)"
                                                              : "")));
}

}  // namespace bpfco
