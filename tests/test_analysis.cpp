// The analysis layer against this kernel: perf event samplers and counters, the profiler's BPF
// program with stack symbolization, and the syscall latency histogram.
#include "support.hpp"

#include <linux/types.h>
#include <bpfco/profile.h>

#include "latency.bpf.skel.h"
#include "profile.bpf.skel.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

using namespace bpfco;
using bpfco::testing::elf_of;
using namespace std::chrono_literals;

// The profiler must find this function among the user frames of this process's samples.
extern "C" __attribute__((noinline)) std::uint64_t bpfco_test_spin(std::uint64_t n) {
    volatile std::uint64_t x = 0;
    for (std::uint64_t i = 0; i < n; ++i) x = x * 31 + i;
    return x;
}

namespace {

// Spends `d` on the CPU, partly in user code (bpfco_test_spin) and partly in the kernel
// (reading /dev/zero clears user pages), so that samples carry both kinds of stack.
void burn(std::chrono::milliseconds d) {
    const int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    std::vector<char> buf(1 << 20);
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
        bpfco_test_spin(2'000'000);
        for (int i = 0; i < 4; ++i) CHECK(::read(zero, buf.data(), buf.size()) > 0);
    }
    ::close(zero);
}

std::uint64_t per_cpu_total(const map& m, std::uint32_t slot) {
    std::vector<std::uint64_t> v(static_cast<std::size_t>(libbpf_num_possible_cpus()));
    REQUIRE(m.lookup_bytes(&slot, v.data()).value());
    std::uint64_t sum = 0;
    for (auto x : v) sum += x;
    return sum;
}

std::map<std::string, std::uint64_t> kallsyms_names() {
    std::map<std::string, std::uint64_t> names;
    std::ifstream in("/proc/kallsyms");
    std::string addr, type, name;
    while (in >> addr >> type >> name) {
        names.emplace(name, std::stoull(addr, nullptr, 16));
        in.ignore(1000, '\n');
    }
    return names;
}

perf_event_options options(perf_counter c, std::uint64_t frequency, pid_t pid = -1) {
    perf_event_options o;
    o.counter = c;
    o.frequency = frequency;
    o.pid = pid;
    return o;
}

// Waits until `pid` sleeps inside read(2) (/proc/PID/syscall names the syscall in progress).
bool wait_blocked_in_read(pid_t pid) {
    for (int i = 0; i < 500; ++i) {
        std::ifstream in(fmt::format("/proc/{}/syscall", pid));
        std::string nr;
        if (in >> nr && nr == std::to_string(SYS_read)) return true;
        std::this_thread::sleep_for(2ms);
    }
    return false;
}

struct profiled {
    object obj;
    perf_event events;
    bpfco::link sampling;
};

profiled start_profile(pid_t pid, std::uint64_t frequency) {
    auto obj = object::load_memory("profile", elf_of(profile_bpf__elf_bytes)).value();
    profile_config cfg{static_cast<__u32>(pid), 1, 1};
    std::uint32_t zero = 0;
    obj.map("settings").value().insert_bytes(&zero, &cfg, update_flags::any).value();
    auto ev = perf_event::open(options(perf_counter::cpu_clock, frequency, pid)).value();
    auto sampling = obj.program("profile_sample").value().attach_perf_event(ev).value();
    return {std::move(obj), std::move(ev), std::move(sampling)};
}

}  // namespace

TEST_CASE("a sampler on every CPU fires the BPF program while this process spins") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto p = start_profile(::getpid(), 999);
    CHECK(p.events.cpus() == online_cpus().value());
    auto totals = p.obj.map("totals").value();
    burn(500ms);
    const auto samples = per_cpu_total(totals, PROFILE_SAMPLES);
    MESSAGE("samples in 0.5 s at 999 Hz: " << samples);
    CHECK(samples > 100);  // ~500 expected; a loaded 2-CPU VM loses some
    CHECK(per_cpu_total(totals, PROFILE_DROPPED) == 0);
    p.sampling.detach();
    const auto after = per_cpu_total(totals, PROFILE_SAMPLES);
    burn(200ms);
    CHECK(per_cpu_total(totals, PROFILE_SAMPLES) == after);
}

TEST_CASE("counters read per CPU and summed") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto ev = perf_event::open(options(perf_counter::task_clock, 0, ::getpid())).value();
    // The process's own CPU time is the reference, not the wall clock: on a loaded machine 200 ms
    // of wall time can be far less CPU time.
    const auto cpu_ns = [] {
        timespec ts{};
        ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return std::uint64_t(ts.tv_sec) * 1'000'000'000u + std::uint64_t(ts.tv_nsec);
    };
    const auto cpu_before = cpu_ns();
    burn(200ms);
    const auto cpu_spent = cpu_ns() - cpu_before;
    auto per_cpu = ev.read_per_cpu().value();
    CHECK(per_cpu.size() == ev.cpus().size());
    std::uint64_t sum = 0;
    for (auto v : per_cpu) sum += v;
    const auto total = ev.read().value();
    CHECK(total >= sum);  // still counting between the two reads
    // task-clock is in ns and counts this process's CPU time since the open, which began
    // just before cpu_before.
    INFO("task-clock " << sum << " ns, process CPU time " << cpu_spent << " ns");
    CHECK(sum >= cpu_spent * 9 / 10);
}

TEST_CASE("hardware cycles fall back to cpu-clock with a note where there is no PMU") {
    BPFCO_REQUIRE_ROOT();
    auto ev = perf_event::open(options(perf_counter::cycles, 99)).value();
    if (ev.counter() == perf_counter::cycles) {
        CHECK(ev.note().empty());
    } else {
        CHECK(ev.counter() == perf_counter::cpu_clock);
        CHECK(ev.note().find("cycles") != std::string::npos);
        MESSAGE(ev.note());
    }
    auto strict = perf_event::open([] {
        auto o = options(perf_counter::cycles, 99);
        o.fallback_to_cpu_clock = false;
        return o;
    }());
    if (strict.has_error()) {
        MESSAGE(strict.error().message);
        CHECK(strict.error().message.find("on CPU ") != std::string::npos);
    }
}

TEST_CASE("perf event errors name the CPU and the reason") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto r = perf_event::open(options(perf_counter::cpu_clock, 99, 0x3ffffff0));  // no such process
    REQUIRE(r.has_error());
    MESSAGE(r.error().message);
    CHECK(r.error().code == std::errc::no_such_process);
    CHECK(r.error().message.find("on CPU 0") != std::string::npos);
    auto both = perf_event::open([] {
        auto o = options(perf_counter::cpu_clock, 99);
        o.period = 1000;
        return o;
    }());
    CHECK(both.has_error());
    auto cg = perf_event::open([] {
        auto o = options(perf_counter::cpu_clock, 99);
        o.cgroup = "/no/such/cgroup";
        return o;
    }());
    REQUIRE(cg.has_error());
    CHECK(cg.error().message.find("/no/such/cgroup") != std::string::npos);
}

TEST_CASE("stack_trace_map checks the map's type") {
    BPFCO_REQUIRE_ROOT();
    auto obj = object::load_memory("profile", elf_of(profile_bpf__elf_bytes)).value();
    auto stacks = obj.map<stack_trace_map>("stacks").value();
    CHECK(stacks.max_depth() == PROFILE_MAX_DEPTH);
    CHECK(stacks.read(12345).value().empty());
    CHECK(stacks.read(-14).value().empty());
    CHECK(!stacks.erase(12345).value());
    auto wrong = obj.map<stack_trace_map>("counts");
    REQUIRE(wrong.has_error());
    MESSAGE(wrong.error().message);
    CHECK(wrong.error().message.find("stack_trace") != std::string::npos);
}

TEST_CASE("kernel addresses symbolize through kallsyms") {
    BPFCO_REQUIRE_ROOT();
    symbolizer sym;
    REQUIRE(sym.kernel_problem().empty());
    auto names = kallsyms_names();
    REQUIRE(names.count("vfs_read"));
    auto f = sym.kernel(names["vfs_read"] + 4);
    CHECK(f.symbol == "vfs_read");
    CHECK(f.offset == 4);
    CHECK(f.module == "kernel");
    CHECK(!sym.kernel(0x10).known());
    CHECK(sym.kernel(0x10).name() == "0x10");
}

TEST_CASE("the profiler finds the spinning function and real kernel frames") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    const pid_t self = ::getpid();
    auto p = start_profile(self, 999);
    burn(1500ms);
    p.sampling.detach();

    auto counts = p.obj.map("counts").value();
    auto stacks = p.obj.map<stack_trace_map>("stacks").value();
    symbolizer sym;
    std::map<std::string, std::uint64_t> user_leaf, kernel_frames;
    std::uint64_t total = 0;
    profile_key key{}, next{};
    bool first = true;
    while (counts.next_key_bytes(first ? nullptr : &key, &next).value()) {
        first = false;
        key = next;
        std::uint64_t n = 0;
        if (!counts.lookup_bytes(&key, &n).value()) continue;
        CHECK(key.pid == static_cast<__u32>(self));
        total += n;
        auto user = stacks.read(key.user_stack).value();
        // The leaf and its caller: frame pointers may be missing, the leaf is always exact.
        for (std::size_t i = 0; i < std::min<std::size_t>(user.size(), 2); ++i)
            user_leaf[sym.user(self, user[i]).symbol] += n;
        const auto kernel = stacks.read(key.kernel_stack).value();  // a local: no dangling temporary
        for (auto a : kernel) kernel_frames[sym.kernel(a).symbol] += n;
    }
    MESSAGE("samples: " << total);
    REQUIRE(total > 100);

    std::vector<std::pair<std::uint64_t, std::string>> top;
    for (auto& [name, n] : user_leaf) top.emplace_back(n, name);
    std::sort(top.rbegin(), top.rend());
    top.resize(std::min<std::size_t>(top.size(), 5));
    std::string listing;
    for (auto& [n, name] : top) listing += fmt::format("{} {}\n", n, name.empty() ? "?" : name);
    MESSAGE("top user frames:\n" << listing);
    CHECK(std::any_of(top.begin(), top.end(), [](auto& t) { return t.second == "bpfco_test_spin"; }));

    const auto names = kallsyms_names();
    std::size_t real = 0;
    for (auto& [name, n] : kernel_frames) real += !name.empty() && names.count(name);
    MESSAGE("distinct kernel frames with kallsyms names: " << real);
    CHECK(real > 0);
}

TEST_CASE("the latency histogram counts exactly the syscalls of the traced process") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    int go[2], done[2];
    REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(done, O_CLOEXEC) == 0);
    constexpr int calls = 300;
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Only raw syscalls from here: blocked in read before the probes attach (its exit has no
        // start, so it is not counted), then `calls` getppid and one write are timed.
        char c;
        if (::read(go[0], &c, 1) != 1) ::_exit(1);
        for (int i = 0; i < calls; ++i) ::syscall(SYS_getppid);
        if (::write(done[1], &c, 1) != 1) ::_exit(1);
        (void)!::read(go[0], &c, 1);  // wait to be killed
        ::_exit(0);
    }
    // Attach only once the child sits in read(): then none of its startup syscalls count.
    REQUIRE(wait_blocked_in_read(child));
    auto obj = object::open_memory("latency", elf_of(latency_bpf__elf_bytes)).value();
    obj.global<std::uint32_t>("targ_pid").value().set(static_cast<std::uint32_t>(child)).value();
    obj.load().value();
    auto enter = obj.program("latency_enter").value().attach().value();
    auto exit_link = obj.program("latency_exit").value().attach().value();
    char c = 'x';
    REQUIRE(::write(go[1], &c, 1) == 1);
    REQUIRE(::read(done[0], &c, 1) == 1);
    // Our read can return before the child's write reaches sys_exit: wait for it (bounded).
    auto hist = histogram::read_log2(obj.map("latency_ns").value()).value();
    for (int i = 0; i < 100 && hist.total() < calls + 1; ++i) {
        std::this_thread::sleep_for(10ms);
        hist = histogram::read_log2(obj.map("latency_ns").value()).value();
    }
    CHECK(hist.total() == calls + 1);
    MESSAGE("child syscall latency (ns):\n" << hist.to_string() << "p50 " << hist.percentile(50) << " ns");
    // Killed inside its last read(), the child still passes sys_exit: that read counts too.
    REQUIRE(wait_blocked_in_read(child));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    CHECK(histogram::read_log2(obj.map("latency_ns").value()).value().total() == calls + 2);
    for (int fd : {go[0], go[1], done[0], done[1]}) ::close(fd);
}
