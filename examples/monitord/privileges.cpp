#include "privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>

// Older headers may lack the capabilities added in 5.8.
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

namespace monitord {

namespace {

struct cap_sets {
    std::uint64_t effective = 0, permitted = 0, inheritable = 0;
};

constexpr std::uint64_t bit(int cap) { return std::uint64_t{1} << cap; }

// The raw syscalls (glibc has no wrappers; libcap would be one more dependency for three calls).
bool get(cap_sets& s) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &hdr, data) != 0) return false;
    s.effective = data[0].effective | (std::uint64_t{data[1].effective} << 32);
    s.permitted = data[0].permitted | (std::uint64_t{data[1].permitted} << 32);
    s.inheritable = data[0].inheritable | (std::uint64_t{data[1].inheritable} << 32);
    return true;
}

bool set(const cap_sets& s) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    for (int i = 0; i < 2; ++i) {
        data[i].effective = static_cast<std::uint32_t>(s.effective >> (32 * i));
        data[i].permitted = static_cast<std::uint32_t>(s.permitted >> (32 * i));
        data[i].inheritable = static_cast<std::uint32_t>(s.inheritable >> (32 * i));
    }
    return ::syscall(SYS_capset, &hdr, data) == 0;
}

std::string sys_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::string missing_start_capabilities() {
    cap_sets s;
    if (!get(s)) return sys_error("capget");
    // CAP_BPF: load programs and create maps. CAP_PERFMON: tracing programs and the perf events
    // tracepoints attach through. CAP_NET_ADMIN: XDP and TC attachment.
    static constexpr struct {
        int cap;
        const char* name;
    } needed[] = {{CAP_BPF, "CAP_BPF"}, {CAP_PERFMON, "CAP_PERFMON"}, {CAP_NET_ADMIN, "CAP_NET_ADMIN"}};
    std::string missing;
    for (auto& n : needed)
        if (!(s.effective & bit(n.cap))) missing += (missing.empty() ? "" : ", ") + std::string(n.name);
    if (missing.empty()) return {};
    return "missing capabilities: " + missing +
           " (monitord loads BPF programs and attaches XDP/TC: run it as root, or grant CAP_BPF, "
           "CAP_PERFMON and CAP_NET_ADMIN)";
}

bpfco::result<run_as> find_user(const std::string& name) {
    std::vector<char> buf(16384);
    passwd pw{}, *found = nullptr;
    int e = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (e != 0) return bpfco::failure(e, fmt::format("--user {}: cannot look it up: {}", name, std::strerror(e)));
    if (!found) return bpfco::failure(ENOENT, fmt::format("--user {}: no such user", name));
    return run_as{name, pw.pw_uid, pw.pw_gid};
}

std::string drop_privileges(const run_as& user, bool keep_net_admin) {
    // What monitord does after start-up needs no capability: reading maps and the ring buffer
    // through fds it already holds, serving HTTP on a socket already bound, closing link fds.
    // The one exception is deleting its TC filters at exit: netlink RTM_DELTFILTER needs
    // CAP_NET_ADMIN. It stays in the permitted set only and is raised again just for that.
    const std::uint64_t keep = keep_net_admin ? bit(CAP_NET_ADMIN) : 0;
    cap_sets s;
    if (!get(s)) return sys_error("capget");
    // Bounding set first, while CAP_SETPCAP is still effective: nothing exec'd could regain more.
    if (s.effective & bit(CAP_SETPCAP))
        for (int cap = 0; cap <= 63; ++cap) {
            if (keep & bit(cap)) continue;
            if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return sys_error("PR_CAPBSET_DROP");
        }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return sys_error("PR_CAP_AMBIENT_CLEAR_ALL");
    // Capabilities stop at the uid: a root-owned file or a uid-checked interface stays out of
    // reach too. Groups first, while CAP_SETGID is still ours. KEEPCAPS carries the permitted set
    // across setuid (the kernel clears it otherwise); the capset below trims it to `keep`.
    if (::setgroups(0, nullptr) != 0) return sys_error("setgroups");
    if (::setresgid(user.gid, user.gid, user.gid) != 0) return sys_error(("setresgid " + user.name).c_str());
    if (::prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) != 0) return sys_error("PR_SET_KEEPCAPS");
    if (::setresuid(user.uid, user.uid, user.uid) != 0) return sys_error(("setresuid " + user.name).c_str());
    if (!get(s)) return sys_error("capget");
    if (!set({0, s.permitted & keep, 0})) return sys_error("capset");
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return sys_error("PR_SET_NO_NEW_PRIVS");
    return {};
}

std::string raise_net_admin() {
    cap_sets s;
    if (!get(s)) return sys_error("capget");
    if (!(s.permitted & bit(CAP_NET_ADMIN))) return "CAP_NET_ADMIN is not permitted any more";
    s.effective |= bit(CAP_NET_ADMIN);
    if (!set(s)) return sys_error("capset");
    return {};
}

}  // namespace monitord
