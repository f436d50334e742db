#include <bpfco/analysis/kernel_objects.hpp>

#include <bpfco/attach/link.hpp>
#include <bpfco/loader/object.hpp>
#include <bpfco/loader/program.hpp>
#include <bpfco/maps/map.hpp>

#include "internal/bpf_fd_kind.hpp"
#include "internal/hints.hpp"
#include "internal/libbpf_log.hpp"

// The types header goes before the skeleton (bpf/gen-types.cpp).
#include "prog_iter.bpf.types.hpp"
#include "prog_iter.bpf.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <net/if.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>

#include <fmt/format.h>

namespace bpfco {

namespace {

std::string id_hint(int errnum) {
    if (errnum != EPERM) return {};
    if (!detail::has_capability(CAP_SYS_ADMIN))
        return " (reading the kernel's BPF objects by id needs CAP_SYS_ADMIN, which this process lacks)";
    return " (this process has CAP_SYS_ADMIN, so capabilities are not the cause: a security module "
           "may refuse it)";
}

error id_error(std::string_view kinds, std::string_view what, int errnum) {
    return make_error(errnum, fmt::format("kernel {}: {}: {}{}", kinds, what, std::strerror(errnum),
                                          id_hint(errnum)));
}

using next_id_fn = int (*)(std::uint32_t, std::uint32_t*);
using fd_by_id_fn = int (*)(std::uint32_t);

result<std::vector<std::uint32_t>> ids(next_id_fn next, std::string_view kinds) {
    std::vector<std::uint32_t> out;
    std::uint32_t id = 0;
    while (next(id, &id) == 0) out.push_back(id);
    if (errno != ENOENT) return failure(id_error(kinds, "list ids", errno));
    return out;
}

// An fd for `id`: empty when the object went away since it was listed.
result<unique_fd> fd_by_id(fd_by_id_fn open, std::uint32_t id, std::string_view kind) {
    int fd = open(id);
    if (fd >= 0) return unique_fd(fd);
    if (errno == ENOENT) return unique_fd();
    return failure(id_error(kind, fmt::format("open id {}", id), errno));
}

std::chrono::system_clock::time_point wall_time_of_boot_ns(std::uint64_t since_boot) {
    timespec real{}, boot{};
    ::clock_gettime(CLOCK_REALTIME, &real);
    ::clock_gettime(CLOCK_BOOTTIME, &boot);
    const auto ns = [](const timespec& t) {
        return std::int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
    };
    const std::int64_t boot_at = ns(real) - ns(boot);
    return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::nanoseconds(boot_at + std::int64_t(since_boot))));
}

// "memlock:" from /proc/self/fdinfo/<fd>, which is where the kernel reports what it charges.
std::optional<std::uint64_t> fdinfo_memlock(int fd) {
    std::ifstream in(fmt::format("/proc/self/fdinfo/{}", fd));
    std::string line;
    constexpr std::string_view key = "memlock:";
    while (std::getline(in, line)) {
        if (!line.starts_with(key)) continue;
        std::size_t i = key.size();
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(line.data() + i, line.data() + line.size(), v);
        if (ec != std::errc()) return std::nullopt;
        return v;
    }
    return std::nullopt;
}

// BPF_OBJ_GET_INFO_BY_FD fills any info struct with the fd's own kind: check the kind first.
template <class Info, class From>
result<Info> of_fd(int fd, std::string_view kind, From from) {
    if (auto k = detail::bpf_fd_kind(fd); k != kind)
        return failure(EINVAL, fmt::format("fd {}: {} info: is a {}, not a {}", fd, kind, k, kind));
    return from(fd, fmt::format("fd {}", fd));
}

result<kernel_program_info> program_info_from(int fd, std::string_view thing) {
    bpf_prog_info raw{};
    std::uint32_t len = sizeof raw;
    if (bpf_obj_get_info_by_fd(fd, &raw, &len) != 0)
        return failure(errno, fmt::format("{}: program info: {}", thing, std::strerror(errno)));
    std::vector<std::uint32_t> map_ids(raw.nr_map_ids);
    if (!map_ids.empty()) {
        // Only the map ids this time: the kernel fills exactly what is asked for.
        bpf_prog_info again{};
        again.nr_map_ids = static_cast<std::uint32_t>(map_ids.size());
        again.map_ids = reinterpret_cast<std::uintptr_t>(map_ids.data());
        len = sizeof again;
        if (bpf_obj_get_info_by_fd(fd, &again, &len) != 0)
            return failure(errno, fmt::format("{}: program map ids: {}", thing, std::strerror(errno)));
        map_ids.resize(std::min<std::size_t>(map_ids.size(), again.nr_map_ids));
    }
    kernel_program_info info;
    info.id = raw.id;
    info.type = program_type(raw.type);
    info.name = raw.name;
    for (auto b : raw.tag) info.tag += fmt::format("{:02x}", b);
    info.map_ids = std::move(map_ids);
    info.btf_id = raw.btf_id;
    info.load_time = wall_time_of_boot_ns(raw.load_time);
    info.owner_uid = raw.created_by_uid;
    info.translated_size = raw.xlated_prog_len;
    info.jited_size = raw.jited_prog_len;
    info.verified_instructions = raw.verified_insns;
    info.run_time = std::chrono::nanoseconds(raw.run_time_ns);
    info.run_count = raw.run_cnt;
    return info;
}

result<kernel_map_info> map_info_from(int fd, std::string_view thing) {
    bpf_map_info raw{};
    std::uint32_t len = sizeof raw;
    if (bpf_obj_get_info_by_fd(fd, &raw, &len) != 0)
        return failure(errno, fmt::format("{}: map info: {}", thing, std::strerror(errno)));
    kernel_map_info info;
    info.id = raw.id;
    info.type = map_type(raw.type);
    info.name = raw.name;
    info.key_size = raw.key_size;
    info.value_size = raw.value_size;
    info.max_entries = raw.max_entries;
    info.flags = raw.map_flags;
    info.btf_id = raw.btf_id;
    info.memory = fdinfo_memlock(fd);
    return info;
}

result<kernel_link_info> link_info_from(int fd, std::string_view thing) {
    bpf_link_info raw{};
    std::uint32_t len = sizeof raw;
    if (bpf_obj_get_info_by_fd(fd, &raw, &len) != 0)
        return failure(errno, fmt::format("{}: link info: {}", thing, std::strerror(errno)));
    kernel_link_info info;
    info.id = raw.id;
    info.type = link_type(raw.type);
    info.program_id = raw.prog_id;
    char name[256] = {};
    switch (info.type) {
    case link_type::raw_tracepoint:
    case link_type::iter: {
        // The name needs a buffer of ours: a second call with one.
        bpf_link_info again{};
        if (info.type == link_type::iter) {
            again.iter.target_name = reinterpret_cast<std::uintptr_t>(name);
            again.iter.target_name_len = sizeof name;
        } else {
            again.raw_tracepoint.tp_name = reinterpret_cast<std::uintptr_t>(name);
            again.raw_tracepoint.tp_name_len = sizeof name;
        }
        len = sizeof again;
        if (bpf_obj_get_info_by_fd(fd, &again, &len) != 0)
            return failure(errno, fmt::format("{}: link target name: {}", thing, std::strerror(errno)));
        name[sizeof name - 1] = '\0';
        info.target_name = name;
        if (info.type == link_type::iter && info.target_name == "cgroup")
            info.cgroup_id = again.iter.cgroup.cgroup_id;
        break;
    }
    case link_type::tracing:
        info.attach_type = attach_type(raw.tracing.attach_type);
        info.target_object_id = raw.tracing.target_obj_id;
        info.target_btf_id = raw.tracing.target_btf_id;
        break;
    case link_type::cgroup:
        info.attach_type = attach_type(raw.cgroup.attach_type);
        info.cgroup_id = raw.cgroup.cgroup_id;
        break;
    case link_type::netns:
        info.attach_type = attach_type(raw.netns.attach_type);
        info.netns_inode = raw.netns.netns_ino;
        break;
    case link_type::xdp:
    case link_type::tcx:
    case link_type::netkit: {
        // tcx and netkit: { __u32 ifindex; __u32 attach_type; }, ifindex where XDP has it.
        info.ifindex = static_cast<int>(raw.xdp.ifindex);
        if (info.type != link_type::xdp) {
            std::uint32_t at = 0;
            std::memcpy(&at, reinterpret_cast<const char*>(&raw.xdp.ifindex) + sizeof(std::uint32_t), sizeof at);
            info.attach_type = attach_type(at);
        }
        char ifname[IF_NAMESIZE] = {};
        if (raw.xdp.ifindex != 0 && ::if_indextoname(raw.xdp.ifindex, ifname)) info.interface = ifname;
        break;
    }
    default:
        break;
    }
    return info;
}

template <class Info, class From>
result<std::vector<Info>> all(next_id_fn next, fd_by_id_fn open, std::string_view kinds, std::string_view kind,
                              From from) {
    BPFCO_TRY(auto list, ids(next, kinds));
    std::vector<Info> out;
    out.reserve(list.size());
    for (auto id : list) {
        BPFCO_TRY(auto fd, fd_by_id(open, id, kind));
        if (!fd) continue;
        auto info = from(fd.get(), fmt::format("{} {}", kind, id));
        if (!info) {
            if (info.error().code.value() == ENOENT) continue;
            return failure(std::move(info).error());
        }
        out.push_back(std::move(info).value());
    }
    return out;
}

template <class Info, class From>
result<Info> by_id(fd_by_id_fn open, std::uint32_t id, std::string_view kind, From from) {
    BPFCO_TRY(auto fd, fd_by_id(open, id, kind));
    if (!fd) return failure(ENOENT, fmt::format("{} {}: no such {} in the kernel", kind, id, kind));
    return from(fd.get(), fmt::format("{} {}", kind, id));
}

}  // namespace

result<std::vector<std::uint32_t>> kernel_program_ids() { return ids(bpf_prog_get_next_id, "programs"); }
result<std::vector<std::uint32_t>> kernel_map_ids() { return ids(bpf_map_get_next_id, "maps"); }
result<std::vector<std::uint32_t>> kernel_link_ids() { return ids(bpf_link_get_next_id, "links"); }

result<std::vector<kernel_program_info>> kernel_programs() {
    return all<kernel_program_info>(bpf_prog_get_next_id, bpf_prog_get_fd_by_id, "programs", "program",
                                    program_info_from);
}
result<std::vector<kernel_map_info>> kernel_maps() {
    return all<kernel_map_info>(bpf_map_get_next_id, bpf_map_get_fd_by_id, "maps", "map", map_info_from);
}
result<std::vector<kernel_link_info>> kernel_links() {
    return all<kernel_link_info>(bpf_link_get_next_id, bpf_link_get_fd_by_id, "links", "link", link_info_from);
}

result<kernel_program_info> program_info_by_id(std::uint32_t id) {
    return by_id<kernel_program_info>(bpf_prog_get_fd_by_id, id, "program", program_info_from);
}
result<kernel_map_info> map_info_by_id(std::uint32_t id) {
    return by_id<kernel_map_info>(bpf_map_get_fd_by_id, id, "map", map_info_from);
}
result<kernel_link_info> link_info_by_id(std::uint32_t id) {
    return by_id<kernel_link_info>(bpf_link_get_fd_by_id, id, "link", link_info_from);
}

result<kernel_program_info> program_info_of(int program_fd) {
    return of_fd<kernel_program_info>(program_fd, "program", program_info_from);
}
result<kernel_map_info> map_info_of(int map_fd) { return of_fd<kernel_map_info>(map_fd, "map", map_info_from); }
result<kernel_link_info> link_info_of(int link_fd) { return of_fd<kernel_link_info>(link_fd, "link", link_info_from); }

result<kernel_program_info> program_info_of(const program& prog) {
    if (!prog || prog.fd() < 0) return failure(prog.make_error(EBADF, "program info", "the program is not loaded"));
    auto info = program_info_from(prog.fd(), fmt::format("program '{}'", prog.name()));
    if (info) info.value().attach_type = attach_type(bpf_program__expected_attach_type(prog.native_handle()));
    return info;
}
result<kernel_map_info> map_info_of(const map& m) {
    if (m.fd() < 0) return failure(EBADF, "map: map info: the map handle is empty");
    return map_info_from(m.fd(), fmt::format("map '{}'", m.info().name));
}
result<kernel_link_info> link_info_of(const link& l) {
    if (l.fd() < 0) return failure(EBADF, "link: link info: the link is empty or of a kind without a kernel link fd");
    return link_info_from(l.fd(), fmt::format("link (fd {})", l.fd()));
}

result<run_time_stats> run_time_stats::enable() {
    int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0) {
        const int e = errno;
        std::string hint = id_hint(e);
        if (e == EPERM && !detail::has_capability(CAP_SYS_ADMIN))
            hint = " (enabling BPF run-time statistics needs CAP_SYS_ADMIN, which this process lacks)";
        if (e == EINVAL) hint = " (this kernel has no BPF_ENABLE_STATS: Linux 5.8 or later has it)";
        return failure(e, fmt::format("run-time statistics: enable: {}{}", std::strerror(e), hint));
    }
    return run_time_stats(unique_fd(fd));
}

bool run_time_stats::enabled_on_host() {
    std::ifstream sysctl("/proc/sys/kernel/bpf_stats_enabled");
    int v = 0;
    if ((sysctl >> v) && v != 0) return true;
    // The sysctl shows only its own setting, not the handles: look for one among every process's fds.
    std::error_code ec;
    for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
        const auto pid = proc.path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        std::error_code fd_ec;
        for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fd_ec)) {
            std::error_code link_ec;
            if (std::filesystem::read_symlink(fd.path(), link_ec) == "anon_inode:bpf-stats") return true;
        }
    }
    return false;
}

namespace {

// The iterator over programs, linked once; each snapshot is one pass of it.
result<link> program_iterator() {
    const int possible = libbpf_num_possible_cpus();
    if (possible < 0)
        return failure(-possible, fmt::format("possible CPUs: {}", detail::errno_text(-possible)));
    BPFCO_TRY(auto obj, object::open_skeleton("prog_iter", prog_iter_bpf__elf_bytes));
    BPFCO_TRY(auto cpus, obj.global(prog_iter::globals::nr_cpus));
    BPFCO_TRY(cpus.set(std::uint32_t(possible)));
    BPFCO_TRY(obj.load());
    BPFCO_TRY(auto prog, obj.program("bpfco_sampler"));
    return prog.attach_iter();  // the link holds the program; the object may go
}

}  // namespace

program_sampler::program_sampler() {
    auto iter = program_iterator();
    if (iter) {
        programs_ = std::move(iter).value();
        detail::debug_log("program_sampler: reading programs through a BPF iterator");
    } else {
        detail::debug_log(fmt::format("program_sampler: reading programs by id: no BPF iterator: {}",
                                      iter.error().message));
    }
}

result<std::vector<program_sampler::last_seen>> program_sampler::read_iterator() const {
    using record = prog_iter::prog_iter_record;
    unique_fd fd(bpf_iter_create(programs_.fd()));
    if (!fd) return failure(errno, fmt::format("program iterator: start a pass: {}", std::strerror(errno)));
    // Large reads: the kernel fills each with as many records as fit.
    std::vector<record> records(previous_.size() + 256);
    std::size_t bytes = 0;
    for (;;) {
        if (bytes == records.size() * sizeof(record)) records.resize(records.size() * 2);
        const ssize_t n = ::read(fd.get(), reinterpret_cast<char*>(records.data()) + bytes,
                                 records.size() * sizeof(record) - bytes);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return failure(errno, fmt::format("program iterator: read: {}", std::strerror(errno)));
        }
        bytes += std::size_t(n);
    }
    if (bytes % sizeof(record) != 0)
        return failure(EIO, fmt::format("program iterator: read: {} bytes, not whole {}-byte records", bytes,
                                        sizeof(record)));
    std::vector<last_seen> out;
    out.reserve(bytes / sizeof(record));
    for (const record& r : std::span(records).first(bytes / sizeof(record)))
        out.push_back({{r.id, program_type(r.type), std::string(r.name, ::strnlen(r.name, sizeof r.name)),
                        r.run_count, std::chrono::nanoseconds(r.run_time_ns)},
                       r.load_time});
    return out;
}

result<std::vector<program_sampler::last_seen>> program_sampler::read_by_id() {
    std::vector<last_seen> out;
    // The cheapest reading: one info call per program, no arrays asked for.
    std::uint32_t id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        BPFCO_TRY(auto fd, fd_by_id(bpf_prog_get_fd_by_id, id, "program"));
        if (!fd) continue;
        bpf_prog_info raw{};
        std::uint32_t len = sizeof raw;
        if (bpf_obj_get_info_by_fd(fd.get(), &raw, &len) != 0) {
            if (errno == ENOENT) continue;
            return failure(errno, fmt::format("program {}: program info: {}", id, std::strerror(errno)));
        }
        out.push_back({{raw.id, program_type(raw.type), raw.name, raw.run_cnt, std::chrono::nanoseconds(raw.run_time_ns)},
                       raw.load_time});
    }
    if (errno != ENOENT) return failure(id_error("programs", "list ids", errno));
    return out;
}

result<program_stats> program_sampler::sample() {
    program_stats out;
    out.time = std::chrono::steady_clock::now();
    if (previous_time_) out.interval = out.time - *previous_time_;
    const double seconds = std::chrono::duration<double>(out.interval).count();

    BPFCO_TRY(auto readings, programs_ ? read_iterator() : read_by_id());
    std::unordered_map<std::uint32_t, last_seen> now;
    now.reserve(readings.size());
    for (auto& seen : readings) {  // by ascending id, as the kernel walks them
        const std::uint32_t id = seen.totals.id;
        auto before = previous_.find(id);
        if (before == previous_.end() || before->second.load_time != seen.load_time) {
            out.appeared.push_back(seen.totals);
        } else {
            const auto& b = before->second.totals;
            program_rate r;
            r.id = id;
            r.type = seen.totals.type;
            r.name = seen.totals.name;
            r.run_count = seen.totals.run_count;
            r.run_time = seen.totals.run_time;
            r.runs = r.run_count - b.run_count;  // same program (same load time): counts only grow
            r.time = r.run_time - b.run_time;
            if (seconds > 0) {
                r.runs_per_second = double(r.runs) / seconds;
                r.cpu_share = std::chrono::duration<double>(r.time).count() / seconds;
            }
            if (r.runs > 0) r.average_ns = double(r.time.count()) / double(r.runs);
            out.programs.push_back(std::move(r));
        }
        now.emplace(id, std::move(seen));
    }
    for (auto& [old_id, seen] : previous_) {
        auto n = now.find(old_id);
        if (n == now.end() || n->second.load_time != seen.load_time) out.disappeared.push_back(std::move(seen.totals));
    }
    std::sort(out.disappeared.begin(), out.disappeared.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    previous_ = std::move(now);
    previous_time_ = out.time;
    return out;
}

}  // namespace bpfco
