// What runs in the kernel and what it costs: the kernel's BPF programs, maps and links listed by
// id with their info (as `bpftool prog/map/link show`), run-time statistics switched on through
// BPF_ENABLE_STATS, and a sampler that turns two readings of every program's run count and run
// time into rates (as bpftop).
//
// Listing by id (BPF_*_GET_NEXT_ID, BPF_*_GET_FD_BY_ID) needs CAP_SYS_ADMIN; the info of an fd this
// process already holds (its own programs) needs no capability beyond the one that made it.
#pragma once

#include <bpfco/attach/link.hpp>
#include <bpfco/error.hpp>
#include <bpfco/kinds.hpp>
#include <bpfco/unique_fd.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bpfco {

class program;
class map;

/// What the kernel says about one program (BPF_OBJ_GET_INFO_BY_FD).
struct kernel_program_info {
    std::uint32_t id = 0;
    bpfco::program_type type{};
    /// The kernel does not report it for a program, so it is known only for programs this process
    /// loaded (program_info_of(const program&)).
    std::optional<bpfco::attach_type> attach_type;
    std::string name;  ///< the kernel's copy: at most 15 characters of the function name
    std::string tag;   ///< 16 hex digits, the hash of the translated instructions (as bpftool)
    std::vector<std::uint32_t> map_ids;  ///< the maps the program uses
    std::uint32_t btf_id = 0;            ///< 0 when loaded without BTF
    std::chrono::system_clock::time_point load_time;  ///< when it was loaded (wall clock)
    std::uint32_t owner_uid = 0;                      ///< the uid that loaded it
    std::uint32_t translated_size = 0;  ///< bytes of the verifier's translated (xlated) program
    std::uint32_t jited_size = 0;       ///< bytes of machine code; 0 when not JITed
    std::uint32_t verified_instructions = 0;  ///< instructions the verifier processed
    /// Totals since load, counted only while run-time statistics are on (run_time_stats); both 0
    /// if they never were.
    std::chrono::nanoseconds run_time{};
    std::uint64_t run_count = 0;
};

/// What the kernel says about one map.
struct kernel_map_info {
    std::uint32_t id = 0;
    bpfco::map_type type{};
    std::string name;
    std::uint32_t key_size = 0;
    std::uint32_t value_size = 0;
    std::uint32_t max_entries = 0;
    std::uint32_t flags = 0;   ///< BPF_F_* map flags
    std::uint32_t btf_id = 0;  ///< 0 without BTF
    /// Bytes the kernel charges for the map ("memlock" in its fdinfo, as bpftool reads it); empty
    /// where the kernel does not report it.
    std::optional<std::uint64_t> memory;
};

/// What the kernel says about one link: its kind, program and, where the kernel reports it for
/// that kind, the attach target.
struct kernel_link_info {
    std::uint32_t id = 0;
    bpfco::link_type type{};
    std::uint32_t program_id = 0;
    std::optional<bpfco::attach_type> attach_type;  ///< cgroup, netns, tracing, tcx and netkit links
    std::optional<int> ifindex;                ///< XDP, tcx and netkit links
    std::string interface;                     ///< ifindex's name, if the interface still exists
    std::optional<std::uint64_t> cgroup_id;    ///< cgroup links, cgroup iterators
    /// The raw tracepoint's name (raw_tracepoint links) or the iterator's target (iter links).
    std::string target_name;
    /// Tracing links: the object (a program for freplace, else a BTF object) and the BTF type id
    /// of the function attached to.
    std::optional<std::uint32_t> target_object_id, target_btf_id;
    std::optional<std::uint32_t> netns_inode;  ///< netns links
};

/// Ids of every program, map and link in the kernel, ascending. Fails with EPERM naming
/// CAP_SYS_ADMIN where this process lacks it. Thread-safe.
result<std::vector<std::uint32_t>> kernel_program_ids();
result<std::vector<std::uint32_t>> kernel_map_ids();
result<std::vector<std::uint32_t>> kernel_link_ids();

/// Info of every program, map and link in the kernel, by ascending id. Objects that go away while
/// they are listed are left out. Fails with EPERM naming CAP_SYS_ADMIN where this process lacks it.
/// Thread-safe.
result<std::vector<kernel_program_info>> kernel_programs();
result<std::vector<kernel_map_info>> kernel_maps();
result<std::vector<kernel_link_info>> kernel_links();

/// Info of one object by id: ENOENT names the id when there is none (any more); EPERM names
/// CAP_SYS_ADMIN.
result<kernel_program_info> program_info_by_id(std::uint32_t id);
result<kernel_map_info> map_info_by_id(std::uint32_t id);
result<kernel_link_info> link_info_by_id(std::uint32_t id);

/// Info of an object from an fd this process holds: EINVAL when the fd is not of that kind.
result<kernel_program_info> program_info_of(int program_fd);
result<kernel_map_info> map_info_of(int map_fd);
result<kernel_link_info> link_info_of(int link_fd);
/// Info of a program, map or link bpfco loaded or made (the program's attach type included);
/// EBADF for an unloaded program, an empty handle, or a link kind without an fd.
result<kernel_program_info> program_info_of(const program& prog);
result<kernel_map_info> map_info_of(const map& m);
result<kernel_link_info> link_info_of(const link& l);

/// Run-time statistics (BPF_ENABLE_STATS with BPF_STATS_RUN_TIME): while any process holds one of
/// these handles open the kernel counts every program's runs and their time, which adds two clock
/// reads and a per-CPU counter update to every program run; the counting stops when the last handle on the host
/// closes. The sysctl kernel.bpf_stats_enabled turns it on too, independently. Move-only; one
/// owner at a time.
class run_time_stats {
public:
    /// Turns statistics on until the handle is destroyed. EPERM names CAP_SYS_ADMIN; EINVAL
    /// means a kernel without BPF_ENABLE_STATS (before 5.8).
    static result<run_time_stats> enable();
    /// Whether the kernel counts now: the sysctl is set, or a process holds a handle (found among
    /// the fds in /proc/*/fd: a process that cannot read other users' fds may miss theirs). Scans
    /// every process: for tests and diagnostics, not for a hot path.
    static bool enabled_on_host();

    /// The handle's fd (its closing ends this handle's share in keeping statistics on).
    int fd() const noexcept { return fd_.get(); }

private:
    explicit run_time_stats(unique_fd fd) noexcept : fd_(std::move(fd)) {}
    unique_fd fd_;
};

/// One program's cost between two snapshots of program_sampler.
struct program_rate {
    std::uint32_t id = 0;
    bpfco::program_type type{};
    std::string name;
    std::uint64_t run_count = 0;       ///< total since load
    std::chrono::nanoseconds run_time{};  ///< total since load
    std::uint64_t runs = 0;            ///< runs since the previous snapshot
    std::chrono::nanoseconds time{};   ///< run time since the previous snapshot
    double runs_per_second = 0;        ///< runs / interval
    double average_ns = 0;             ///< time / runs; 0 without runs
    double cpu_share = 0;              ///< time / interval: 1.0 is one CPU kept busy
};

/// A program that appeared or disappeared between two snapshots, with its totals when last seen.
struct program_presence {
    std::uint32_t id = 0;
    bpfco::program_type type{};
    std::string name;
    std::uint64_t run_count = 0;
    std::chrono::nanoseconds run_time{};
};

/// One snapshot's view of every program on the host against the previous snapshot.
struct program_stats {
    std::chrono::steady_clock::time_point time;  ///< when the snapshot started
    std::chrono::nanoseconds interval{};  ///< since the previous snapshot; 0 for the first
    /// Programs present in both snapshots, by ascending id. Programs that appeared are not here:
    /// their runs before the snapshot cannot be split from those before it.
    std::vector<program_rate> programs;
    std::vector<program_presence> appeared;     ///< new since the previous (every one in the first)
    std::vector<program_presence> disappeared;  ///< unloaded since the previous
};

/// Snapshots of every program's run count and run time, each compared with the one before. A
/// snapshot reads one BPF iterator over the host's programs (bpf/prog_iter.bpf.c: one record per
/// program, a few read()s in all) where it can be loaded (kernel 5.19 or later, CAP_BPF and
/// CAP_PERFMON); elsewhere it makes four bpf() calls per program (next id, fd by id, info, close),
/// as raw libbpf would. bench/introspect_bench measures both. The iterator is a program on the
/// host too (a tracing program named bpfco_sampler), so it appears in the snapshots it takes. Counts grow only while run-time statistics
/// are on: hold a run_time_stats while sampling. A program id the kernel reuses after an unload is
/// seen as the same program only if its load time is the same. Not synchronised: one thread samples.
class program_sampler {
public:
    /// Loads the iterator, or settles for bpf() calls when it cannot be loaded (the reason is in the
    /// BPFCO_DEBUG log). Never fails.
    program_sampler();

    /// Takes a snapshot and compares it with the previous one. By id, EPERM names CAP_SYS_ADMIN;
    /// through the iterator, a failed read names it.
    result<program_stats> sample();

    /// Whether snapshots are read through the iterator rather than by id.
    bool uses_iterator() const noexcept { return bool(programs_); }

private:
    struct last_seen {
        program_presence totals;
        std::uint64_t load_time = 0;  // ns since boot: tells a reused id from the same program
    };
    result<std::vector<last_seen>> read_iterator() const;
    static result<std::vector<last_seen>> read_by_id();

    link programs_;  // the iterator over programs; empty when reading by id
    std::unordered_map<std::uint32_t, last_seen> previous_;
    std::optional<std::chrono::steady_clock::time_point> previous_time_;
};

}  // namespace bpfco
