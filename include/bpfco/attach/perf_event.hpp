// perf events on every online CPU: samplers that fire a perf_event BPF program (profilers,
// through program::attach_perf_event) and counters read as values.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/unique_fd.hpp>

#include <fmt/format.h>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bpfco {

/// The event a perf_event counts or samples. The hardware ones need a PMU, which VMs often lack.
enum class perf_counter {
    cpu_clock,         ///< software: a per-CPU timer, present everywhere (VMs included)
    task_clock,        ///< software: time the task ran
    page_faults,       ///< software
    context_switches,  ///< software
    cycles,            ///< hardware; falls back to cpu_clock where there is no PMU
    instructions,      ///< hardware; falls back to cpu_clock where there is no PMU
};

namespace detail {
/// perf's name of the counter ("cpu-clock", ...), as `perf list` prints it.
std::string_view counter_name(perf_counter c) noexcept;
}  // namespace detail

/// What perf_event::open opens.
struct perf_event_options {
    perf_counter counter = perf_counter::cpu_clock;  ///< the event counted or sampled
    /// Sampling: samples per second per CPU (frequency) or one sample every `period` events
    /// (nanoseconds for the clocks). Both 0: a counter that never samples.
    std::uint64_t frequency = 0;
    std::uint64_t period = 0;  ///< see frequency
    pid_t pid = -1;        ///< -1: every process on each CPU; otherwise only this process
    std::string cgroup;    ///< a cgroup v2 directory: only its tasks (excludes pid)
    /// For cycles/instructions: use cpu_clock when the machine has no such hardware event
    /// (the reason is kept in note()); false makes that an error.
    bool fallback_to_cpu_clock = true;
};

/// One perf event opened on every online CPU: a sampler that fires a BPF program
/// (program::attach_perf_event(events) attaches it on every CPU), or a counter read as values.
/// Owns every fd (closed when destroyed); moves transfer them. Not synchronised: one thread uses
/// a handle at a time.
class perf_event {
public:
    /// Nothing opened.
    perf_event() = default;

    /// Opens the event on every online CPU. Samplers start disabled and are enabled when a
    /// program is attached; counters start counting at once. An error names the CPU and the reason.
    static result<perf_event> open(const perf_event_options& options);

    /// What was opened (cpu_clock after a fallback) and why it differs from what was asked.
    perf_counter counter() const noexcept { return counter_; }
    /// Why counter() differs from what was asked (empty when it does not).
    const std::string& note() const noexcept { return note_; }
    /// The CPUs the event is open on.
    const std::vector<int>& cpus() const noexcept { return cpus_; }
    /// One fd per entry of cpus().
    int fd(std::size_t i) const noexcept { return fds_[i].get(); }

    /// Counter values, one per entry of cpus() (scaled when the kernel multiplexed the event).
    result<std::vector<std::uint64_t>> read_per_cpu() const;
    /// The values summed over the CPUs.
    result<std::uint64_t> read() const;

private:
    perf_counter counter_ = perf_counter::cpu_clock;
    std::string note_;
    std::vector<int> cpus_;
    std::vector<unique_fd> fds_;
};

}  // namespace bpfco

/// `fmt::format("{}", bpfco::perf_counter::cpu_clock)` is "cpu-clock".
template <>
struct fmt::formatter<bpfco::perf_counter> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(bpfco::perf_counter c, FormatContext& ctx) const {
        return fmt::formatter<std::string_view>::format(bpfco::detail::counter_name(c), ctx);
    }
};
