// How the library turns libbpf's links into bpfco::link (not public: users get links from attach).
#pragma once

#include <bpfco/attach/link.hpp>

struct bpf_link;

namespace bpfco::detail {

struct link_access {
    static link from_libbpf(bpf_link* l);
    /// A link over a perf event; libbpf closes perf_event_fd with the link.
    static link from_libbpf_perf(bpf_link* l, int perf_event_fd);
};

}  // namespace bpfco::detail
