#include "pins.hpp"

#include "output.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace monitord {

namespace {

// The marker of a directory monitord created: a map nothing else would pin under this name.
constexpr const char* created_marker = "created_by_monitord";
constexpr const char* marker_map_name = "monitord_dir";
constexpr std::string_view xdp_prefix = "xdp_";
constexpr std::string_view tc_prefix = "tc_egress_";

std::string filesystem_name(unsigned long magic) {
    switch (magic) {
    case SYSFS_MAGIC: return "sysfs";
    case TMPFS_MAGIC: return "tmpfs";
    case EXT4_SUPER_MAGIC: return "ext4";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
    case PROC_SUPER_MAGIC: return "proc";
    default: return fmt::format("filesystem magic {:#x}", magic);
    }
}

// `ip netns exec NAME` mounts a fresh sysfs on /sys with NAME as its source (/proc/1's namespaces
// cannot be read from there to compare); returns NAME when this process's /sys is such a mount.
std::string ip_netns_exec_name() {
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line, name;
    while (std::getline(mountinfo, line)) {
        // id parent dev root mount-point options [optional fields] - fstype source super-options
        std::istringstream fields(line);
        std::string id, parent, dev, root, point, word, fstype, source;
        fields >> id >> parent >> dev >> root >> point;
        while (fields >> word && word != "-") {}
        fields >> fstype >> source;
        if (point != "/sys") continue;
        struct stat st {};
        name = fstype == "sysfs" && ::stat(("/run/netns/" + source).c_str(), &st) == 0 ? source : "";
    }
    return name;
}

// `where` (DIR or its parent) is on the filesystem `magic`, not bpffs.
std::string not_bpffs(const std::string& dir, const std::string& where, unsigned long magic) {
    auto m = fmt::format("--pin-dir {}: {} is not on bpffs but on {}; pins live on bpffs only: mount it with "
                         "`mount -t bpf bpf /sys/fs/bpf` and give a directory under it",
                         dir, where, filesystem_name(magic));
    if (magic != SYSFS_MAGIC) return m;
    if (auto ns = ip_netns_exec_name(); !ns.empty())
        m += fmt::format("; this process runs under `ip netns exec {}`, which mounts a /sys of its own where "
                         "/sys/fs/bpf is an empty sysfs directory, not the host's bpffs: enter only the network "
                         "namespace instead (`nsenter --net=/run/netns/{} monitord ...`)",
                         ns, ns);
    else
        m += " (/sys/fs/bpf is sysfs's empty mount point there: bpffs is not mounted on it)";
    return m;
}

// What kind of pinned object `path` is, for "not a directory".
std::string pinned_kind(const std::string& path) {
    if (auto m = bpfco::map::from_pinned(path))
        return fmt::format("a pinned BPF map ('{}', {}), not a directory", m.value().name(), m.value().info().type);
    if (bpfco::unique_fd fd(::bpf_obj_get(path.c_str())); fd) return "a pinned BPF program or link, not a directory";
    return "not a directory";
}

std::string parent_of(const std::string& dir) {
    const auto slash = dir.rfind('/');
    return slash == 0 ? "/" : dir.substr(0, slash);
}

// Why the link pinned at `path` is not an `link_type` link running monitord's `program`.
std::string link_mismatch(const std::string& path, bpfco::link_type type, const char* program) {
    auto l = bpfco::link::from_pinned(path, type);
    if (!l) return l.error().message;
    bpf_link_info info{};
    std::uint32_t len = sizeof info;
    if (::bpf_obj_get_info_by_fd(l.value().fd(), &info, &len) != 0)
        return fmt::format("reading the link's info: {}", std::strerror(errno));
    const int prog = ::bpf_prog_get_fd_by_id(info.prog_id);
    if (prog < 0) return fmt::format("opening its program (id {}): {}", info.prog_id, std::strerror(errno));
    bpfco::unique_fd owned(prog);
    bpf_prog_info p{};
    len = sizeof p;
    if (::bpf_obj_get_info_by_fd(prog, &p, &len) != 0)
        return fmt::format("reading its program's info: {}", std::strerror(errno));
    // The kernel keeps the first BPF_OBJ_NAME_LEN - 1 characters of a program's name.
    const auto want = std::string_view(program).substr(0, BPF_OBJ_NAME_LEN - 1);
    if (want != std::string_view(p.name)) return fmt::format("its program is '{}', not monitord's '{}'", p.name, want);
    return {};
}

// Why the entry `name` of DIR is not a pin monitord made; empty when it is.
std::string foreign_reason(bpfco::object& obj, const std::string& dir, const std::string& name) {
    const auto path = dir + "/" + name;
    if (name == created_marker) {
        auto m = bpfco::map::from_pinned(path);
        if (!m) return m.error().message;
        const auto& i = m.value().info();
        if (i.name != marker_map_name || i.type != bpfco::map_type::array || i.max_entries != 1)
            return fmt::format("a {} map '{}', not monitord's marker", i.type, i.name);
        return {};
    }
    if (std::find_if(pinned_maps.begin(), pinned_maps.end(), [&](const char* n) { return name == n; }) !=
        pinned_maps.end()) {
        auto m = bpfco::map::from_pinned(path);
        if (!m) return m.error().message;
        return map_mismatch(obj, name.c_str(), m.value().info());
    }
    if (name.starts_with(xdp_prefix)) return link_mismatch(path, bpfco::link_type::xdp, "monitord_xdp");
    if (name.starts_with(tc_prefix)) return link_mismatch(path, bpfco::link_type::tcx, "monitord_tc_egress");
    return "not a name monitord pins";
}

}  // namespace

std::string xdp_pin(const std::string& dir, const std::string& interface) {
    return dir + "/" + std::string(xdp_prefix) + interface;
}
std::string tc_pin(const std::string& dir, const std::string& interface) {
    return dir + "/" + std::string(tc_prefix) + interface;
}

std::string pin_dir_problem(const std::string& dir) {
    struct stat st {};
    struct statfs fs {};
    if (::lstat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return fmt::format("--pin-dir {}: {}", dir, pinned_kind(dir));
        if (::statfs(dir.c_str(), &fs) != 0) return fmt::format("--pin-dir {}: {}", dir, std::strerror(errno));
        if (static_cast<unsigned long>(fs.f_type) != BPF_FS_MAGIC)
            return not_bpffs(dir, "the directory", static_cast<unsigned long>(fs.f_type));
        return {};
    }
    if (errno != ENOENT) return fmt::format("--pin-dir {}: {}", dir, std::strerror(errno));
    const auto parent = parent_of(dir);
    if (::stat(parent.c_str(), &st) != 0)
        return fmt::format("--pin-dir {}: its parent directory {}: {} (monitord creates DIR, not its parents)", dir,
                           parent, std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) return fmt::format("--pin-dir {}: its parent {} is {}", dir, parent, pinned_kind(parent));
    if (::statfs(parent.c_str(), &fs) != 0) return fmt::format("--pin-dir {}: {}: {}", dir, parent, std::strerror(errno));
    if (static_cast<unsigned long>(fs.f_type) != BPF_FS_MAGIC)
        return not_bpffs(dir, "its parent " + parent, static_cast<unsigned long>(fs.f_type));
    return {};
}

std::string make_pin_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0) {
        if (errno == EEXIST) return {};
        return fmt::format("--pin-dir {}: creating it: {}", dir, std::strerror(errno));
    }
    auto marker = bpfco::map::create(bpfco::map_type::array, marker_map_name, 4, 4, 1);
    if (!marker) return fmt::format("--pin-dir {}: {}", dir, marker.error().message);
    if (auto r = marker.value().pin(dir + "/" + created_marker); !r)
        return fmt::format("--pin-dir {}: {}", dir, r.error().message);
    return {};
}

std::string map_mismatch(bpfco::object& obj, const char* name, const bpfco::map_info& have) {
    const bpf_map* want = bpf_object__find_map_by_name(obj.native_handle(), name);
    if (have.name == name && have.type == bpfco::map_type(bpf_map__type(want)) && have.key_size == bpf_map__key_size(want) &&
        have.value_size == bpf_map__value_size(want) && have.max_entries == bpf_map__max_entries(want) &&
        have.flags == bpf_map__map_flags(want))
        return {};
    return fmt::format("a {} map '{}' (key {} B, value {} B, {} entries, flags {:#x}); monitord's is a {} map '{}' "
                       "(key {} B, value {} B, {} entries, flags {:#x})",
                       have.type, have.name, have.key_size, have.value_size, have.max_entries,
                       have.flags, bpfco::map_type(bpf_map__type(want)), name, bpf_map__key_size(want),
                       bpf_map__value_size(want), bpf_map__max_entries(want), bpf_map__map_flags(want));
}

int detach_pinned(bpfco::object& obj, const std::string& dir) {
    if (auto problem = pin_dir_problem(dir); !problem.empty()) {
        log_line(problem);
        return 2;
    }
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT) {
            log_line(fmt::format("{}: nothing pinned (no such directory)", dir));
            return 0;
        }
        log_line(fmt::format("--pin-dir {}: {}", dir, std::strerror(errno)));
        return 1;
    }
    std::vector<std::string> names;
    while (auto* e = ::readdir(d))
        if (std::string_view n = e->d_name; n != "." && n != "..") names.emplace_back(n);
    ::closedir(d);
    std::sort(names.begin(), names.end());

    std::vector<std::string> removed, foreign;
    bool created = false;
    for (auto& n : names) {
        if (auto why = foreign_reason(obj, dir, n); !why.empty()) {
            foreign.push_back(fmt::format("{}/{} ({})", dir, n, why));
        } else if (n == created_marker) {
            created = true;  // unpinned last, and only when the directory can go too
        } else if (auto r = bpfco::unpin(dir + "/" + n); !r) {
            log_line(r.error().message);
            return 1;
        } else {
            removed.push_back(n);
        }
    }
    if (!foreign.empty())
        log_line(fmt::format("WARNING: {}: left in place, not pinned by monitord: {}", dir, fmt::join(foreign, "; ")));
    std::string dir_fate = "directory kept (monitord did not create it)";
    if (created && !foreign.empty()) {
        dir_fate = "directory kept (it holds pins monitord did not make)";
    } else if (created) {
        if (auto r = bpfco::unpin(dir + "/" + created_marker); !r) {
            log_line(r.error().message);
            return 1;
        }
        if (::rmdir(dir.c_str()) != 0) {
            log_line(fmt::format("removing {}: {}", dir, std::strerror(errno)));
            return 1;
        }
        dir_fate = "directory removed";
    }
    if (removed.empty())
        log_line(fmt::format("{}: nothing of monitord's pinned; {}", dir, dir_fate));
    else
        log_line(fmt::format("{}: {} pins removed ({}), programs detached; {}", dir, removed.size(),
                             fmt::join(removed, ", "), dir_fate));
    return 0;
}

}  // namespace monitord
