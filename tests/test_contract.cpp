// The data contract: globals by name (set before load, read and written through the mmapped
// map after), and C++ mirrors of BPF structs checked against the object's BTF at set-up.
#include "support.hpp"

#include <bpfco/contract_test.h>  // before the skeleton, which names the struct
#include "contract_test.bpf.skel.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>

using namespace bpfco;
using bpfco::testing::elf_of;
namespace asio = boost::asio;

namespace {
object open_contract() { return object::open_skeleton("contract_test", contract_test_bpf__elf_bytes).value(); }

void getppid_times(int n) {
    for (int i = 0; i < n; ++i) ::syscall(SYS_getppid);
}

// The same syscalls from a second process, which the pid filter must not count.
void getppid_in_child(int n) {
    const pid_t child = ::fork();
    if (child == 0) {
        getppid_times(n);
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
}

// C++ mirrors of struct bpfco_contract_event that drifted.
struct event_missing {  // comm left out
    std::uint64_t seq;
    std::uint32_t pid, step;
};
struct event_swapped {  // same 32 bytes, seq moved behind pid and step
    std::uint32_t pid, step;
    std::uint64_t seq;
    char comm[16];
};
struct event_short_comm {  // 24 bytes
    std::uint64_t seq;
    std::uint32_t pid, step;
    char comm[8];
};
}  // namespace

TEST_CASE("a .rodata pid filter set before load counts exactly that process; .bss read without a syscall") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_contract();
    CHECK(obj.global<std::uint32_t>("targ_pid").value().set(static_cast<std::uint32_t>(::getpid())));
    obj.load().value();
    auto link = obj.program("contract_getppid").value().attach().value();
    auto hits = obj.global<std::uint64_t>("hits").value();
    CHECK(hits.section() == ".bss");
    getppid_in_child(30);
    getppid_times(50);
    getppid_in_child(30);
    CHECK(hits.load() == 50);
    CHECK(obj.global<std::uint64_t>("custom_hits").value().load() == 50);
    CHECK(obj.global<std::uint64_t>("custom_hits").value().section() == ".data.custom");
    const auto last = obj.global<bpfco_contract_event>("last_event").value().get();
    CHECK(last.pid == static_cast<std::uint32_t>(::getpid()));
    CHECK(last.seq == 49);
}

TEST_CASE("a .data value written after load changes what the program does") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_contract();
    obj.global<std::uint32_t>("targ_pid").value().set(static_cast<std::uint32_t>(::getpid())).value();
    obj.load().value();
    auto link = obj.program("contract_getppid").value().attach().value();
    auto step = obj.global<std::uint64_t>("step").value();
    auto stepped = obj.global<std::uint64_t>("stepped").value();
    CHECK(step.section() == ".data");
    getppid_times(10);
    CHECK(stepped.load() == 10);
    CHECK(step.set(5));
    getppid_times(10);
    CHECK(stepped.load() == 60);
    CHECK(step.store(100));
    getppid_times(1);
    CHECK(stepped.load() == 160);
    // Counters can be reset from user space too: the program sees the store.
    auto hits = obj.global<std::uint64_t>("hits").value();
    CHECK(hits.fetch_add(1000).value() == 21);
    getppid_times(1);
    CHECK(hits.load() == 1022);
}

TEST_CASE("arrays and custom sections: .rodata set before load is what the kernel holds after") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_contract();
    const std::array<std::uint32_t, 8> ports{22, 80, 443, 0, 0, 0, 0, 8080};
    obj.global<std::array<std::uint32_t, 8>>("ports").value().set(ports).value();
    CHECK(obj.global<std::uint32_t>("custom_ro").value().get() == 7);
    obj.global<std::uint32_t>("custom_ro").value().set(9).value();
    obj.load().value();
    auto after = obj.global<std::array<std::uint32_t, 8>>("ports").value();
    CHECK(after.get() == ports);
    auto ro = obj.global<std::uint32_t>("custom_ro").value();
    CHECK(ro.section() == ".rodata.custom");
    CHECK(ro.get() == 9);
}

TEST_CASE("globals from a file object work the same") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    const std::string path = "/tmp/bpfco_contract_globals.o";
    {
        auto elf = elf_of(contract_test_bpf__elf_bytes);
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(elf.data()),
                                                    static_cast<std::streamsize>(elf.size()));
    }
    auto obj = object::open_file(path).value();
    std::remove(path.c_str());
    obj.global<std::uint32_t>("targ_pid").value().set(static_cast<std::uint32_t>(::getpid())).value();
    obj.load().value();
    auto link = obj.program("contract_getppid").value().attach().value();
    getppid_times(7);
    CHECK(obj.global<std::uint64_t>("hits").value().load() == 7);
}

TEST_CASE("globals: .rodata after load, an unknown name, a wrong size and a stale handle are clear errors") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_contract();
    auto before = obj.global<std::uint64_t>("step").value();

    auto unknown = obj.global<std::uint32_t>("targ_pdi");
    REQUIRE(!unknown);
    CHECK(unknown.error().message.find("no global variable named 'targ_pdi'") != std::string::npos);
    CHECK(unknown.error().message.find(".rodata: custom_ro") == std::string::npos);  // sections apart
    CHECK(unknown.error().message.find("targ_pid") != std::string::npos);
    CHECK(unknown.error().message.find("stepped") != std::string::npos);

    auto wrong = obj.global<std::uint64_t>("targ_pid");
    REQUIRE(!wrong);
    CHECK(wrong.error().message.find("global 'targ_pid' (.rodata)") != std::string::npos);
    CHECK(wrong.error().message.find("the variable is __u32 (unsigned integer, 4 bytes), the C++ type is") !=
          std::string::npos);

    obj.load().value();
    auto ro = obj.global<std::uint32_t>("targ_pid").value();
    auto r = ro.set(1);
    REQUIRE(!r);
    CHECK(r.error().message.find("global 'targ_pid' (.rodata): read-only after load") != std::string::npos);
    CHECK(!ro.store(1));
    CHECK(!ro.fetch_add(1));

    auto stale = before.set(3);
    REQUIRE(!stale);
    CHECK(stale.error().message.find("taken before load") != std::string::npos);
}

TEST_CASE("layout checks: the right mirror passes; a missing member, a swap and a size change fail naming the member") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_contract();
    CHECK(obj.check_layout<bpfco_contract_event>());

    auto missing = obj.check_layout<event_missing>("bpfco_contract_event");
    REQUIRE(!missing);
    CHECK(missing.error().message.find("struct 'bpfco_contract_event' and C++ 'event_missing'") != std::string::npos);
    CHECK(missing.error().message.find("member 3 'comm' is missing") != std::string::npos);

    auto swapped = obj.check_layout<event_swapped>("bpfco_contract_event");
    REQUIRE(!swapped);
    static_assert(sizeof(event_swapped) == sizeof(bpfco_contract_event));
    CHECK(swapped.error().message.find("member 0 'seq' differs (BPF: at 0, 8 bytes, unsigned integer; C++: at 0, "
                                       "4 bytes, unsigned integer)") != std::string::npos);
    CHECK(swapped.error().message.find("BPF: {seq at 0, 8 bytes, unsigned integer; pid at 8, 4 bytes") !=
          std::string::npos);
    CHECK(swapped.error().message.find("C++: {#0 at 0, 4 bytes") != std::string::npos);

    auto shorter = obj.check_layout<event_short_comm>("bpfco_contract_event");
    REQUIRE(!shorter);
    CHECK(shorter.error().message.find("member 3 'comm' differs (BPF: at 16, 16 bytes, char; C++: at 16, 8 bytes, "
                                       "char)") != std::string::npos);

    auto no_struct = obj.check_layout<event_missing>();
    REQUIRE(!no_struct);
    CHECK(no_struct.error().message.find("no struct named 'event_missing'") != std::string::npos);

    // A struct-typed global is checked the same way.
    auto g = obj.global<event_swapped>("last_event");
    REQUIRE(!g);
    CHECK(g.error().message.find("global 'last_event' (.bss): struct 'bpfco_contract_event'") != std::string::npos);
}

TEST_CASE("typed views and streams check the record type against BTF at set-up") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_contract();
    obj.global<std::uint32_t>("targ_pid").value().set(static_cast<std::uint32_t>(::getpid())).value();
    obj.load().value();

    auto bad_view = obj.map<hash_map<std::uint32_t, event_swapped>>("by_pid");
    REQUIRE(!bad_view);
    CHECK(bad_view.error().message.find("map 'by_pid' value: struct 'bpfco_contract_event'") != std::string::npos);
    auto view = obj.map<hash_map<std::uint32_t, bpfco_contract_event>>("by_pid").value();

    asio::io_context io;
    auto bad_stream = obj.ring_buffer<event_swapped>(io.get_executor(), "events", {}, "bpfco_contract_event");
    REQUIRE(!bad_stream);
    CHECK(bad_stream.error().message.find("records of map 'events': struct 'bpfco_contract_event'") !=
          std::string::npos);

    auto events = obj.ring_buffer<bpfco_contract_event>(io.get_executor(), "events").value();
    auto link = obj.program("contract_getppid").value().attach().value();
    getppid_times(3);
    auto f = asio::co_spawn(io, [&]() -> asio::awaitable<std::vector<bpfco_contract_event>> {
        std::vector<bpfco_contract_event> got;
        while (got.size() < 3) {
            auto batch = co_await events.async_receive(asio::use_awaitable);
            for (const auto& rec : batch)
                if (auto* e = rec.as<bpfco_contract_event>()) got.push_back(*e);
        }
        co_return got;
    }, asio::use_future);
    io.run();
    auto got = f.get();
    REQUIRE(got.size() == 3);
    CHECK(got[2].seq == 2);
    CHECK(std::string(got[0].comm).starts_with("test_contract"));
    const auto by_pid = view.lookup(static_cast<std::uint32_t>(::getpid())).value();
    REQUIRE(by_pid);
    CHECK(by_pid->seq == 2);
}

TEST_CASE("a perf buffer made from the object checks its record type the same way") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = open_contract();
    obj.global<std::uint32_t>("targ_pid").value().set(static_cast<std::uint32_t>(::getpid())).value();
    obj.load().value();
    asio::io_context io;
    auto bad = obj.perf_buffer<event_short_comm>(io.get_executor(), "perf_events", {}, "bpfco_contract_event");
    REQUIRE(!bad);
    CHECK(bad.error().message.find("records of map 'perf_events': struct 'bpfco_contract_event'") != std::string::npos);

    auto events = obj.perf_buffer<bpfco_contract_event>(io.get_executor(), "perf_events").value();
    auto link = obj.program("contract_getppid").value().attach().value();
    getppid_times(4);
    auto f = asio::co_spawn(io, [&]() -> asio::awaitable<std::vector<bpfco_contract_event>> {
        std::vector<bpfco_contract_event> got;
        while (got.size() < 4) {
            auto batch = co_await events.async_receive(asio::use_awaitable);
            for (const auto& rec : batch)
                if (auto e = rec.as<bpfco_contract_event>()) got.push_back(*e);
        }
        co_return got;
    }, asio::use_future);
    io.run();
    auto got = f.get();
    REQUIRE(got.size() == 4);
    // One ring per CPU: the process may have moved between CPUs, so order by sequence.
    std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
    CHECK(got[3].seq == 3);
    CHECK(got[0].pid == static_cast<std::uint32_t>(::getpid()));
}
