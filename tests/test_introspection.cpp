// The kernel's programs, maps and links as bpfco lists them, run-time statistics and the sampler,
// checked against three programs of this test's own that it runs with BPF_PROG_TEST_RUN.
#include "support.hpp"

#include "introspect_test.bpf.skel.h"

#include <bpf/bpf.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include <fmt/format.h>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {

object load_introspect_test() {
    return object::load_memory("introspect_test", elf_of(introspect_test_bpf__elf_bytes)).value();
}

// Each program, its kind and the map it uses.
struct expected_program {
    const char* name;
    program_type type;
    const char* type_name;
    const char* map;
};
constexpr expected_program expected[] = {
    {"introspect_xdp", program_type::xdp, "xdp", "xdp_runs"},
    {"introspect_tc", program_type::sched_cls, "sched_cls", "tc_runs"},
    {"introspect_sock", program_type::socket_filter, "socket_filter", "socket_runs"},
};

void run(const object& obj, const char* prog, std::uint32_t repeat) {
    static const std::byte packet[64] = {};
    test_run_options o;
    o.data_in = packet;
    o.repeat = repeat;
    test_run(obj.program(prog).value(), o).value();
}

std::uint32_t id_of(const object& obj, const char* prog) {
    return program_info_of(obj.program(prog).value()).value().id;
}

const kernel_program_info* find(const std::vector<kernel_program_info>& all, std::uint32_t id) {
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& p) { return p.id == id; });
    return it == all.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("the kernel's programs include this test's three, with their kinds, names and maps") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_introspect_test();
    auto all = kernel_programs().value();
    REQUIRE(std::is_sorted(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; }));
    const auto load_time = std::chrono::system_clock::now();
    for (const auto& e : expected) {
        CAPTURE(e.name);
        const auto* p = find(all, id_of(obj, e.name));
        REQUIRE(p != nullptr);
        CHECK(p->name == e.name);
        CHECK(p->type == e.type);
        CHECK(fmt::format("{}", p->type) == e.type_name);
        const auto m = obj.map(e.map).value();
        CHECK(p->map_ids == std::vector<std::uint32_t>{m.info().id});
        CHECK(p->tag.size() == 16);
        CHECK(p->tag.find_first_not_of("0123456789abcdef") == std::string::npos);
        CHECK(p->btf_id != 0);
        CHECK(p->owner_uid == ::getuid());
        CHECK(p->translated_size > 0);
        CHECK(p->verified_instructions > 0);
        CHECK(std::chrono::abs(load_time - p->load_time) < std::chrono::minutes(1));
        CHECK_FALSE(p->attach_type.has_value());  // the kernel does not say

        // The same program from its own fd, where libbpf knows the attach type.
        const auto own = program_info_of(obj.program(e.name).value()).value();
        CHECK(own.tag == p->tag);
        CHECK(own.map_ids == p->map_ids);
        REQUIRE(own.attach_type.has_value());
        if (e.type == program_type::xdp) CHECK(*own.attach_type == attach_type::xdp);
        CHECK(program_info_by_id(p->id).value().name == e.name);
    }
}

TEST_CASE("the kernel's maps include this test's, with their sizes and memory") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_introspect_test();
    const auto maps = kernel_maps().value();
    for (const auto& e : expected) {
        CAPTURE(e.map);
        const auto own = obj.map(e.map).value();
        auto it = std::find_if(maps.begin(), maps.end(), [&](const auto& m) { return m.id == own.info().id; });
        REQUIRE(it != maps.end());
        CHECK(it->name == e.map);
        CHECK(it->type == own.info().type);
        CHECK(it->key_size == 4);
        CHECK(it->value_size == 8);
        CHECK(it->max_entries == own.info().max_entries);
        CHECK(it->btf_id != 0);
        REQUIRE(it->memory.has_value());  // in every kernel's fdinfo since 4.10
        CHECK(*it->memory > 0);
        CHECK(map_info_of(own).value().memory == it->memory);
    }
    auto gone = map_info_by_id(0);
    REQUIRE(gone.has_error());
    CHECK(gone.error().code == std::errc::no_such_file_or_directory);
}

TEST_CASE("an XDP link is listed with its program and interface") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_introspect_test();
    const auto prog_id = id_of(obj, "introspect_xdp");
    // In a network namespace of this thread's own: no other test's XDP program on lo is touched.
    std::thread t([&] {
        REQUIRE(::unshare(CLONE_NEWNET) == 0);
        auto l = obj.program("introspect_xdp").value().attach_xdp("lo").value();
        const auto info = link_info_of(l).value();
        CHECK(info.type == link_type::xdp);
        CHECK(fmt::format("{}", info.type) == "xdp");
        CHECK(info.program_id == prog_id);
        CHECK(info.ifindex == 1);
        CHECK(info.interface == "lo");
        const auto links = kernel_links().value();
        auto it = std::find_if(links.begin(), links.end(), [&](const auto& k) { return k.id == info.id; });
        REQUIRE(it != links.end());
        CHECK(it->program_id == prog_id);
        CHECK(link_info_by_id(info.id).value().ifindex == 1);
    });
    t.join();
}

TEST_CASE("with statistics on, run counts equal the repetitions and run time grows") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_introspect_test();
    auto stats = run_time_stats::enable().value();
    CHECK(run_time_stats::enabled_on_host());
    const std::uint32_t repeats[] = {1000, 2500, 4000};
    for (std::size_t i = 0; i < std::size(repeats); ++i) {
        const auto& e = expected[i];
        CAPTURE(e.name);
        const auto id = id_of(obj, e.name);
        const auto before = program_info_by_id(id).value();
        run(obj, e.name, repeats[i]);
        const auto after = program_info_by_id(id).value();
        CHECK(after.run_count - before.run_count == repeats[i]);
        CHECK(after.run_time > before.run_time);
    }
}

TEST_CASE("with statistics off, run time stays 0") {
    BPFCO_REQUIRE_ROOT();
    if (run_time_stats::enabled_on_host()) {
        testing::skip("another process has BPF run-time statistics on (kernel.bpf_stats_enabled is 1)");
        return;
    }
    auto obj = load_introspect_test();
    run(obj, "introspect_xdp", 10000);
    const auto info = program_info_of(obj.program("introspect_xdp").value()).value();
    if (run_time_stats::enabled_on_host()) {
        testing::skip("another process turned BPF run-time statistics on during the test");
        return;
    }
    CHECK(info.run_count == 0);
    CHECK(info.run_time.count() == 0);
}

TEST_CASE("the sampler reports rates, and programs appearing and disappearing") {
    BPFCO_REQUIRE_ROOT();
    auto stats = run_time_stats::enable().value();
    program_sampler sampler;
    auto first = sampler.sample().value();
    CHECK(first.interval.count() == 0);
    CHECK(first.programs.empty());

    std::uint32_t id = 0;
    {
        auto obj = load_introspect_test();
        id = id_of(obj, "introspect_tc");
        auto appeared = sampler.sample().value();
        CHECK(std::any_of(appeared.appeared.begin(), appeared.appeared.end(),
                          [&](const auto& p) { return p.id == id && p.name == "introspect_tc"; }));
        run(obj, "introspect_tc", 5000);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        auto ran = sampler.sample().value();
        CHECK(ran.interval >= std::chrono::milliseconds(20));
        auto it = std::find_if(ran.programs.begin(), ran.programs.end(), [&](const auto& p) { return p.id == id; });
        REQUIRE(it != ran.programs.end());
        CHECK(it->runs == 5000);
        CHECK(it->run_count == 5000);
        CHECK(it->time.count() > 0);
        const double seconds = std::chrono::duration<double>(ran.interval).count();
        CHECK(it->runs_per_second == doctest::Approx(5000 / seconds));
        CHECK(it->average_ns == doctest::Approx(double(it->time.count()) / 5000));
        CHECK(it->cpu_share > 0);
        CHECK(it->cpu_share < 1.0);
    }
    // The kernel frees a program after an RCU grace period.
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
        auto s = sampler.sample().value();
        gone = std::any_of(s.disappeared.begin(), s.disappeared.end(), [&](const auto& p) { return p.id == id; });
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(gone);
}

TEST_CASE("the sampler's iterator reads what the kernel's info calls report") {
    BPFCO_REQUIRE_ROOT();
    auto stats = run_time_stats::enable().value();
    program_sampler sampler;
    // The probe loads an iter/bpf_prog program; the sampler's needs bpf_map_lookup_percpu_elem
    // (5.19) besides, which every kernel with BTF this project tests has.
    const auto refusal = features::iterator_refusal("bpf_prog");
    MESSAGE("iter/bpf_prog: " << (refusal.empty() ? "loads" : refusal));
    if (refusal.empty()) CHECK(sampler.uses_iterator());
    if (!sampler.uses_iterator()) {
        testing::skip("the sampler reads programs by id here: " + refusal);
        return;
    }
    auto obj = load_introspect_test();
    run(obj, "introspect_xdp", 700);
    run(obj, "introspect_sock", 1300);
    auto snapshot = sampler.sample().value();
    CHECK(std::is_sorted(snapshot.appeared.begin(), snapshot.appeared.end(),
                         [](const auto& a, const auto& b) { return a.id < b.id; }));
    // The same figures as BPF_OBJ_GET_INFO_BY_FD, which the by-id path reads: nothing runs them
    // between the two readings.
    for (const auto& e : expected) {
        const auto info = program_info_of(obj.program(e.name).value()).value();
        auto it = std::find_if(snapshot.appeared.begin(), snapshot.appeared.end(),
                               [&](const auto& p) { return p.id == info.id; });
        REQUIRE_MESSAGE(it != snapshot.appeared.end(), e.name);
        CHECK(it->name == info.name);
        CHECK(it->type == info.type);
        CHECK(it->run_count == info.run_count);
        CHECK(it->run_time == info.run_time);
    }
    run(obj, "introspect_xdp", 300);
    const auto again = sampler.sample().value();
    const auto xdp = id_of(obj, "introspect_xdp");
    auto it = std::find_if(again.programs.begin(), again.programs.end(), [&](const auto& p) { return p.id == xdp; });
    REQUIRE(it != again.programs.end());
    CHECK(it->runs == 300);
    CHECK(it->run_count == 1000);
    CHECK(it->run_time == program_info_of(obj.program("introspect_xdp").value()).value().run_time);
}

TEST_CASE("program_watch delivers the sampler's snapshots on its schedule") {
    BPFCO_REQUIRE_ROOT();
    auto stats = run_time_stats::enable().value();
    auto obj = load_introspect_test();
    const auto id = id_of(obj, "introspect_sock");
    boost::asio::io_context io;
    constexpr auto interval = std::chrono::milliseconds(50);
    auto watch = program_watch::create(io.get_executor(), interval).value();
    CHECK(watch.interval() == interval);
    run(obj, "introspect_sock", 3000);  // after the baseline, before the first snapshot

    std::vector<program_stats> got;
    std::function<void(boost::system::error_code, program_stats)> on_snapshot =
        [&](boost::system::error_code ec, program_stats s) {
            REQUIRE_FALSE(ec);
            got.push_back(std::move(s));
            if (got.size() < 2) watch.async_receive(on_snapshot);
        };
    watch.async_receive(on_snapshot);
    io.run();
    REQUIRE(got.size() == 2);
    for (const auto& s : got) CHECK(s.interval.count() > 0);  // measured, so the rates divide by it
    auto it = std::find_if(got[0].programs.begin(), got[0].programs.end(), [&](const auto& p) { return p.id == id; });
    REQUIRE(it != got[0].programs.end());
    CHECK(it->runs == 3000);
    CHECK(it->type == program_type::socket_filter);
    CHECK(it->runs_per_second > 0);
    // Steady: no runs in between, and the same program was neither appeared nor gone.
    it = std::find_if(got[1].programs.begin(), got[1].programs.end(), [&](const auto& p) { return p.id == id; });
    REQUIRE(it != got[1].programs.end());
    CHECK(it->runs == 0);

    // close() aborts a pending receive; a moved-from watch refuses.
    boost::system::error_code aborted;
    watch.async_receive([&](boost::system::error_code ec, program_stats) { aborted = ec; });
    watch.close();
    io.restart();
    io.run();
    CHECK(aborted == boost::asio::error::operation_aborted);
    CHECK(program_watch::create(io.get_executor(), std::chrono::milliseconds(0)).error().code ==
          std::errc::invalid_argument);
}

TEST_CASE("listing without CAP_SYS_ADMIN fails naming it") {
    BPFCO_REQUIRE_ROOT();
    // Capabilities are per thread and the hint reads the process's: drop it in a child process.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2] = {};
        if (::syscall(SYS_capget, &header, data) != 0) ::_exit(2);
        data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
        if (::syscall(SYS_capset, &header, data) != 0) ::_exit(2);
        auto r = kernel_program_ids();
        std::printf("without CAP_SYS_ADMIN: %s\n", r ? "listed" : r.error().message.c_str());
        std::fflush(stdout);
        const bool named = !r && r.error().code == std::errc::operation_not_permitted &&
                           r.error().message.find("needs CAP_SYS_ADMIN") != std::string::npos;
        ::_exit(named ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the info calls refuse an fd of another kind") {
    BPFCO_REQUIRE_ROOT();
    auto obj = load_introspect_test();
    const auto m = obj.map("xdp_runs").value();
    auto r = program_info_of(m.fd());
    REQUIRE(r.has_error());
    MESSAGE(r.error().message);
    CHECK(r.error().code == std::errc::invalid_argument);
    CHECK(r.error().message.find("is a map, not a program") != std::string::npos);
    CHECK(map_info_of(m.fd()).value().name == "xdp_runs");
}
