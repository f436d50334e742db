// monitord's capabilities: checked before anything is loaded, dropped once everything is attached.
#pragma once

#include <bpfco/error.hpp>

#include <sys/types.h>

#include <string>

namespace monitord {

/// Empty when the effective set holds what loading and attaching need (CAP_BPF, CAP_PERFMON,
/// CAP_NET_ADMIN); otherwise a message naming the missing ones.
std::string missing_start_capabilities();

/// The user monitord runs as once attached (--user), looked up before anything is attached.
struct run_as {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};
bpfco::result<run_as> find_user(const std::string& name);

/// After load and attach: switches to `user`'s uid and gid (no supplementary groups), keeps only
/// CAP_NET_ADMIN, and only in the permitted set (so the effective set is empty while monitord
/// runs), empties the inheritable, ambient and bounding sets and sets PR_SET_NO_NEW_PRIVS.
/// `keep_net_admin` false drops that one too (no TC filter was attached). Call while the process
/// has one thread: capabilities are per thread. Returns an error message, empty on success.
std::string drop_privileges(const run_as& user, bool keep_net_admin);

/// At exit, before the links are destroyed: raises CAP_NET_ADMIN into the effective set again so
/// that deleting the TC filters over netlink is allowed. Returns an error message, empty on success.
std::string raise_net_admin();

}  // namespace monitord
