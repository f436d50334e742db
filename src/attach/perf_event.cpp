#include <bpfco/attach/perf_event.hpp>
#include <bpfco/cpus.hpp>
#include <bpfco/loader/program.hpp>

#include "internal/link_access.hpp"

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

namespace bpfco {

std::string_view detail::counter_name(perf_counter c) noexcept {
    switch (c) {
    case perf_counter::cpu_clock: return "cpu-clock";
    case perf_counter::task_clock: return "task-clock";
    case perf_counter::page_faults: return "page-faults";
    case perf_counter::context_switches: return "context-switches";
    case perf_counter::cycles: return "cycles";
    case perf_counter::instructions: return "instructions";
    }
    return "unknown";
}

namespace {

perf_event_attr attr_for(perf_counter c, const perf_event_options& o) {
    perf_event_attr a{};
    a.size = sizeof a;
    switch (c) {
    case perf_counter::cpu_clock: a.type = PERF_TYPE_SOFTWARE; a.config = PERF_COUNT_SW_CPU_CLOCK; break;
    case perf_counter::task_clock: a.type = PERF_TYPE_SOFTWARE; a.config = PERF_COUNT_SW_TASK_CLOCK; break;
    case perf_counter::page_faults: a.type = PERF_TYPE_SOFTWARE; a.config = PERF_COUNT_SW_PAGE_FAULTS; break;
    case perf_counter::context_switches:
        a.type = PERF_TYPE_SOFTWARE;
        a.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
        break;
    case perf_counter::cycles: a.type = PERF_TYPE_HARDWARE; a.config = PERF_COUNT_HW_CPU_CYCLES; break;
    case perf_counter::instructions: a.type = PERF_TYPE_HARDWARE; a.config = PERF_COUNT_HW_INSTRUCTIONS; break;
    }
    if (o.frequency) {
        a.freq = 1;
        a.sample_freq = o.frequency;
    } else {
        a.sample_period = o.period;
    }
    // Samplers wait for attach() so the program sees every sample; counters count from open.
    a.disabled = (o.frequency || o.period) ? 1 : 0;
    a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    return a;
}

bool is_hardware(perf_counter c) { return c == perf_counter::cycles || c == perf_counter::instructions; }

std::string open_hint(int e) {
    switch (e) {
    case EACCES:
    case EPERM: return " (needs CAP_PERFMON or root; see also kernel.perf_event_paranoid)";
    case ENOENT:
    case ENODEV:
    case EOPNOTSUPP: return " (this machine has no such event: no hardware PMU in many VMs)";
    case EMFILE: return " (too many open files: raise RLIMIT_NOFILE)";
    case EINVAL: return " (a frequency above kernel.perf_event_max_sample_rate is one cause)";
    default: return {};
    }
}

}  // namespace

result<perf_event> perf_event::open(const perf_event_options& o) {
    if (o.frequency && o.period) return failure(EINVAL, "perf event: give a frequency or a period, not both");
    BPFCO_TRY(auto cpus, online_cpus());

    unique_fd cgroup_fd;
    pid_t target = o.pid;
    unsigned long flags = PERF_FLAG_FD_CLOEXEC;
    if (!o.cgroup.empty()) {
        cgroup_fd.reset(::open(o.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!cgroup_fd)
            return failure(errno, fmt::format("perf event: cgroup '{}': {}", o.cgroup, std::strerror(errno)));
        target = cgroup_fd.get();
        flags |= PERF_FLAG_PID_CGROUP;
    }

    perf_event ev;
    ev.counter_ = o.counter;
    for (int cpu : cpus) {
        perf_event_attr a = attr_for(ev.counter_, o);
        int fd = static_cast<int>(::syscall(SYS_perf_event_open, &a, target, cpu, -1, flags));
        if (fd < 0 && is_hardware(ev.counter_) && o.fallback_to_cpu_clock &&
            (errno == ENOENT || errno == ENODEV || errno == EOPNOTSUPP) && ev.fds_.empty()) {
            ev.note_ = fmt::format("no hardware {} event on this machine ({}): using cpu-clock instead",
                                   ev.counter_, std::strerror(errno));
            ev.counter_ = perf_counter::cpu_clock;
            a = attr_for(ev.counter_, o);
            fd = static_cast<int>(::syscall(SYS_perf_event_open, &a, target, cpu, -1, flags));
        }
        if (fd < 0) {
            const int e = errno;
            const std::string scope = !o.cgroup.empty() ? fmt::format(" for cgroup '{}'", o.cgroup)
                                      : o.pid >= 0       ? fmt::format(" for pid {}", o.pid)
                                                         : std::string{};
            return failure(e, fmt::format("perf event {} on CPU {}{}: {}{}", ev.counter_, cpu, scope,
                                          std::strerror(e), open_hint(e)));
        }
        ev.fds_.emplace_back(fd);
        ev.cpus_.push_back(cpu);
    }
    return ev;
}

result<link> program::attach_perf_event(const perf_event& events) const {
    BPFCO_TRY(check(fmt::format("attach to perf event {}", events.counter())));
    std::vector<link> links;
    for (std::size_t i = 0; i < events.cpus().size(); ++i) {
        // The link takes its own fd, so the event's stays readable and closes independently.
        unique_fd dup(::fcntl(events.fd(i), F_DUPFD_CLOEXEC, 0));
        if (!dup)
            return failure(make_error(errno, fmt::format("attach to perf event {} on CPU {}: dup", events.counter(),
                                                         events.cpus()[i])));
        auto l = attach_perf_event(std::move(dup));
        if (!l) {
            auto e = l.error();
            e.message = fmt::format("CPU {}: {}", events.cpus()[i], e.message);
            return failure(std::move(e));
        }
        links.push_back(std::move(l).value());
    }
    return detail::link_access::from_group(std::move(links));
}

result<std::vector<std::uint64_t>> perf_event::read_per_cpu() const {
    std::vector<std::uint64_t> values;
    for (std::size_t i = 0; i < fds_.size(); ++i) {
        std::uint64_t v[3] = {};  // value, time enabled, time running
        errno = 0;
        if (::read(fds_[i].get(), v, sizeof v) != static_cast<ssize_t>(sizeof v))
            return failure(errno ? errno : EIO,
                           fmt::format("perf event {} on CPU {}: read: {}", counter_, cpus_[i],
                                       std::strerror(errno)));
        // Multiplexed events ran only part of the time: scale up as perf stat does.
        if (v[2] != 0 && v[2] < v[1])
            v[0] = static_cast<std::uint64_t>(static_cast<double>(v[0]) * static_cast<double>(v[1]) /
                                              static_cast<double>(v[2]));
        values.push_back(v[0]);
    }
    return values;
}

result<std::uint64_t> perf_event::read() const {
    BPFCO_TRY(auto values, read_per_cpu());
    return std::accumulate(values.begin(), values.end(), std::uint64_t{0});
}

}  // namespace bpfco
