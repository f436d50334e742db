// Tracing attach types on this kernel: USDT probes fired by this process, uprobe_multi over this
// binary's functions, kprobe_multi errors (the attach itself needs kprobes: tests/test_vm_tracing.cpp).
#include "support.hpp"

#include <bpfco/log_record.h>
#include <bpfco/tracing_test.h>  // before the skeleton, which names its struct

#include "tracing_test.bpf.skel.h"
#include "log_test.bpf.skel.h"
#include "uprobe_multi_test.bpf.skel.h"
#include "vm_tracing.bpf.skel.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/sdt.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <thread>

#include <climits>
#include <fstream>
#include <sstream>
#include <string>

using namespace bpfco;
using bpfco::testing::elf_of;
namespace asio = boost::asio;

// uprobe_multi targets: distinct, not inlined, with external names the pattern matches.
extern "C" {
[[gnu::noinline]] int bpfco_tracing_target_one(int x) {
    asm volatile("" ::: "memory");
    return x + 1;
}
[[gnu::noinline]] int bpfco_tracing_target_two(int x) {
    asm volatile("" ::: "memory");
    return x + 2;
}
[[gnu::noinline]] int bpfco_tracing_target_three(int x) {
    asm volatile("" ::: "memory");
    return x + 3;
}
}

namespace {

std::string self_exe() {
    char exe[PATH_MAX] = {};
    REQUIRE(::readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    return exe;
}

// The map-element iterator is off unless asked for: some kernels refuse it (features::
// iterator_refusal), and only the case that iterates a map needs it.
object load_tracing(bool with_map_iterator = false) {
    auto obj = object::open_memory("tracing_test", elf_of(tracing_test_bpf__elf_bytes)).value();
    obj.program("list_elements").value().set_autoload(with_map_iterator).value();
    obj.load().value();
    tracing_test_state s{};
    s.target_pid = static_cast<std::uint32_t>(::getpid());
    std::uint32_t zero = 0;
    obj.map(".bss").value().insert_bytes(&zero, &s, update_flags::any).value();
    return obj;
}

tracing_test_state state_of(const object& obj) {
    tracing_test_state s{};
    std::uint32_t zero = 0;
    REQUIRE(obj.map(".bss").value().info().value_size == sizeof s);
    CHECK(obj.map(".bss").value().lookup_bytes(&zero, &s).value());
    return s;
}

// Runs a coroutine on io to its end, rethrowing what it threw.
template <class F>
void run_coro(asio::io_context& io, F f) {
    asio::co_spawn(io, std::move(f), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    io.run();
}

std::string own_comm() {
    std::ifstream f("/proc/self/comm");
    std::string c;
    std::getline(f, c);
    return c;
}

[[gnu::noinline]] void fire_usdt(int i) {
    std::uint64_t b = static_cast<std::uint64_t>(i) * TRACING_USDT_FACTOR;
    DTRACE_PROBE2(bpfco_test, fire, i, b);
}

}  // namespace

TEST_CASE("USDT probe: every firing reaches the program with its arguments") {
    BPFCO_REQUIRE_ROOT();
    if (!features::uprobes()) {
        testing::skip("this kernel has no uprobes (features::uprobes() is false)");
        return;
    }
    testing::fd_leak_check fds;
    auto obj = load_tracing();
    constexpr int n = 1000;
    {
        auto l = obj.program("usdt_fire").value()
                     .attach_usdt(self_exe(), "bpfco_test", "fire", {.pid = ::getpid(), .cookie = TRACING_USDT_COOKIE})
                     .value();
        for (int i = 1; i <= n; ++i) fire_usdt(i);
    }
    fire_usdt(1);  // detached: not counted
    auto s = state_of(obj);
    CHECK(s.usdt_calls == n);
    CHECK(s.usdt_sum == std::uint64_t(n) * (n + 1) / 2);
    CHECK(s.usdt_bad == 0);
}

TEST_CASE("USDT probe that the binary does not have: the error names it") {
    BPFCO_REQUIRE_ROOT();
    auto obj = load_tracing();
    auto r = obj.program("usdt_fire").value().attach_usdt(self_exe(), "bpfco_test", "no_such_probe");
    REQUIRE(r.has_error());
    CHECK(r.error().message.find("bpfco_test:no_such_probe") != std::string::npos);
    MESSAGE(r.error().message);
}

TEST_CASE("uprobe_multi: one link over a pattern counts each function") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = object::open_memory("uprobe_multi_test", elf_of(uprobe_multi_test_bpf__elf_bytes));
#if BPFCO_HAVE_UPROBE_MULTI
    REQUIRE(obj.has_value());
    obj.value().load().value();
    auto bss = obj.value().map(".bss").value();
    struct {
        std::uint32_t pid;
        std::uint64_t calls;
    } s{static_cast<std::uint32_t>(::getpid()), 0};
    std::uint32_t zero = 0;
    REQUIRE(bss.info().value_size == sizeof s);
    bss.insert_bytes(&zero, &s, update_flags::any).value();
    auto prog = obj.value().program("count_targets").value();
    volatile int sink = 0;
    {
        auto l = prog.attach_uprobe_multi(self_exe(), "bpfco_tracing_target_*", {.pid = ::getpid()}).value();
        for (int i = 0; i < 100; ++i)
            sink = sink + bpfco_tracing_target_one(i) + bpfco_tracing_target_two(i) + bpfco_tracing_target_three(i);
    }
    {
        const std::string two[] = {"bpfco_tracing_target_one", "bpfco_tracing_target_three"};
        auto l = prog.attach_uprobe_multi(self_exe(), two, {.pid = ::getpid()}).value();
        for (int i = 0; i < 10; ++i)
            sink = sink + bpfco_tracing_target_one(i) + bpfco_tracing_target_two(i) + bpfco_tracing_target_three(i);
    }
    bss.lookup_bytes(&zero, &s).value();
    CHECK(s.calls == 300 + 20);
    auto none = prog.attach_uprobe_multi(self_exe(), "bpfco_no_such_function_*");
    REQUIRE(none.has_error());
    CHECK(none.error().message.find("'bpfco_no_such_function_*'") != std::string::npos);
    MESSAGE(none.error().message);
#else
    // libbpf < 1.3 cannot even open this object; any program shows the run-time error.
    auto tracing = load_tracing();
    auto r = tracing.program("usdt_fire").value().attach_uprobe_multi(self_exe(), "bpfco_tracing_target_*");
    REQUIRE(r.has_error());
    CHECK(r.error().code == std::errc::operation_not_supported);
    CHECK(r.error().message.find("needs libbpf >= 1.3") != std::string::npos);
    CHECK(r.error().message.find("bpfco_tracing_target_*") != std::string::npos);
    testing::skip("uprobe_multi needs libbpf >= 1.3 (checked the error instead): " + r.error().message);
    (void)obj;
#endif
}

TEST_CASE("kprobe_multi: a pattern that matches nothing is an error naming it") {
    BPFCO_REQUIRE_ROOT();
    auto obj = object::open_memory("vm_tracing", elf_of(vm_tracing_bpf__elf_bytes)).value();
    obj.program("deny_marker_open").value().set_autoload(false).value();
    obj.load().value();
    auto r = obj.program("count_syscalls").value().attach_kprobe_multi("bpfco_no_such_kernel_function_*");
    REQUIRE(r.has_error());
    CHECK(r.error().message.find("'bpfco_no_such_kernel_function_*'") != std::string::npos);
    MESSAGE(r.error().message);
}

TEST_CASE("task iterator: the stream lists this process's pid and comm, a line at a time") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_tracing();
    auto l = obj.program("list_tasks").value().attach_iter().value();
    asio::io_context io;
    auto stream = iterator_stream::create(io.get_executor(), l).value();
    std::size_t lines = 0, ours = 0;
    const std::string me = fmt::format("{} {}", ::getpid(), own_comm());
    run_coro(io, [&]() -> asio::awaitable<void> {
        std::string buf;
        for (;;) {
            auto [ec, n] = co_await asio::async_read_until(stream, asio::dynamic_buffer(buf), '\n',
                                                           asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::eof) break;
            REQUIRE_MESSAGE(!ec, ec.message());
            ++lines;
            if (buf.compare(0, n - 1, me) == 0 && n - 1 == me.size()) ++ours;
            buf.erase(0, n);
        }
        CHECK(buf.empty());
    });
    CHECK(lines > 1);
    CHECK(ours == 1);
    // A second pass over the same link reads everything again.
    auto again = iterator_stream::create(io.get_executor(), l).value();
    std::string all;
    io.restart();
    run_coro(io, [&]() -> asio::awaitable<void> {
        auto [ec, n] = co_await asio::async_read(again, asio::dynamic_buffer(all), asio::as_tuple(asio::use_awaitable));
        CHECK(ec == asio::error::eof);
        CHECK(n == all.size());
    });
    CHECK(all.find("\n" + me + "\n") != std::string::npos);
}

TEST_CASE("map iterator: one line per element of the map it was attached to") {
    BPFCO_REQUIRE_ROOT();
    if (auto why = features::iterator_refusal("bpf_map_elem"); !why.empty()) {
        testing::skip(why);
        return;
    }
    testing::fd_leak_check fds;
    auto obj = load_tracing(true);
    auto target = obj.map("iter_target").value();
    for (std::uint32_t k : {3u, 5u, 7u}) {
        std::uint64_t v = k * 1000;
        target.insert_bytes(&k, &v, update_flags::any).value();
    }
    auto l = obj.program("list_elements").value().attach_iter(target).value();
    asio::io_context io;
    auto stream = iterator_stream::create(io.get_executor(), l).value();
    std::string all;
    run_coro(io, [&]() -> asio::awaitable<void> {
        auto [ec, n] = co_await asio::async_read(stream, asio::dynamic_buffer(all), asio::as_tuple(asio::use_awaitable));
        CHECK(ec == asio::error::eof);
    });
    std::vector<std::string> lines;
    std::istringstream in(all);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    CHECK(lines == std::vector<std::string>{"3 3000", "5 5000", "7 7000"});
}

TEST_CASE("task iterator: closing mid-pass is safe and pending reads complete with operation_aborted") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_tracing();
    auto l = obj.program("list_tasks").value().attach_iter().value();
    asio::io_context io;
    auto stream = iterator_stream::create(io.get_executor(), l).value();
    run_coro(io, [&]() -> asio::awaitable<void> {
        char part[8];
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(part), asio::as_tuple(asio::use_awaitable));
        CHECK(!ec);
        CHECK(n > 0);
    });
    // Closed with a read initiated but not yet made: it completes aborted; one after: bad_descriptor.
    boost::system::error_code first, second, third;
    char more[64];
    stream.async_read_some(asio::buffer(more), [&](boost::system::error_code ec, std::size_t) { first = ec; });
    stream.async_read_some(asio::buffer(more), [&](boost::system::error_code ec, std::size_t) { second = ec; });
    stream.close();
    stream.async_read_some(asio::buffer(more), [&](boost::system::error_code ec, std::size_t) { third = ec; });
    io.restart();
    io.run();
    CHECK(first == asio::error::operation_aborted);
    CHECK(second == asio::error::already_started);
    CHECK(third == asio::error::bad_descriptor);
    CHECK(!stream.is_open());
}

TEST_CASE("user ring buffer: every record written from user space is consumed by BPF, in order") {
    BPFCO_REQUIRE_ROOT();
    if (!features::user_ring_buffer()) {
        testing::skip("this kernel has no user ring buffers (features::user_ring_buffer() is false)");
        return;
    }
    testing::fd_leak_check fds;
    auto obj = load_tracing();
    auto drain = obj.program("drain_user_ring").value().attach().value();
    asio::io_context io;
    auto ring = user_ring_writer::create(io.get_executor(), obj.map("user_ring").value()).value();
    constexpr std::uint64_t n = 20000;  // ~120 rings' worth: the writer waits for room many times
    // BPF drains whenever this process calls getppid(): a second thread keeps calling it.
    std::atomic<bool> writing{true};
    std::thread drainer([&] {
        while (writing) ::syscall(SYS_getppid);
    });
    run_coro(io, [&]() -> asio::awaitable<void> {
        for (std::uint64_t i = 0; i < n; ++i) {
            auto rec = co_await ring.async_reserve(sizeof(tracing_urb_record), asio::use_awaitable);
            tracing_urb_record r{i, i * 7};
            std::memcpy(rec.data(), &r, sizeof r);
            ring.submit(rec);
        }
    });
    writing = false;
    drainer.join();
    ::syscall(SYS_getppid);  // drains what was submitted after the thread's last call
    auto s = state_of(obj);
    CHECK(s.urb_drained == n);
    CHECK(s.urb_sum == 7 * n * (n - 1) / 2);
    CHECK(s.urb_bad == 0);
}

TEST_CASE("user ring buffer: back-pressure while BPF does not drain, release when it does") {
    BPFCO_REQUIRE_ROOT();
    if (!features::user_ring_buffer()) {
        testing::skip("this kernel has no user ring buffers (features::user_ring_buffer() is false)");
        return;
    }
    testing::fd_leak_check fds;
    auto obj = load_tracing();
    auto drain = obj.program("drain_user_ring").value().attach().value();
    asio::io_context io;
    auto ring = user_ring_writer::create(io.get_executor(), obj.map("user_ring").value()).value();
    auto write = [&](std::span<std::byte> rec, std::uint64_t i) {
        tracing_urb_record r{i, 1};
        std::memcpy(rec.data(), &r, sizeof r);
        ring.submit(rec);
    };
    std::uint64_t written = 0;
    for (;;) {
        auto rec = ring.try_reserve(sizeof(tracing_urb_record));
        if (!rec) {
            CHECK(rec.error().code == std::errc::no_space_on_device);
            MESSAGE(rec.error().message);
            break;
        }
        write(rec.value(), written++);
    }
    CHECK(written == ring.capacity() / (8 + sizeof(tracing_urb_record)));
    CHECK(ring.try_reserve(ring.capacity() + 1).error().code == std::errc::argument_list_too_long);

    // Full: a reserve waits, however long the io_context runs, until BPF drains.
    bool done = false;
    boost::system::error_code result;
    ring.async_reserve(sizeof(tracing_urb_record), [&](boost::system::error_code ec, std::span<std::byte> rec) {
        done = true;
        result = ec;
        if (!ec) write(rec, written++);
    });
    // The ring keeps a few bytes free, too few for a record, so its fd polls writable all along:
    // the reserve must sleep between tries, not spin on that (it used a whole CPU before).
    CHECK(ring.capacity() % (8 + sizeof(tracing_urb_record)) != 0);
    timespec cpu0{}, cpu1{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    io.run_for(std::chrono::milliseconds(200));
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    const double cpu_ms = (cpu1.tv_sec - cpu0.tv_sec) * 1e3 + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e6;
    MESSAGE("a reserve waiting 200 ms on a ring with too little room used ", cpu_ms, " ms of CPU");
    CHECK(cpu_ms < 50);
    CHECK(!done);
    CHECK(state_of(obj).urb_drained == 0);
    ::syscall(SYS_getppid);  // BPF drains everything and wakes the writer
    io.restart();
    io.run();
    CHECK(done);
    CHECK(!result);
    ::syscall(SYS_getppid);
    auto s = state_of(obj);
    CHECK(s.urb_drained == written);
    CHECK(s.urb_bad == 0);

    // Full again: a pending reserve is cancelled by its slot, then by close.
    while (ring.try_reserve(sizeof(tracing_urb_record)).has_value()) {
    }
    asio::steady_timer timer(io, std::chrono::milliseconds(20));
    boost::system::error_code cancelled, closed, after;
    asio::cancellation_signal signal;
    ring.async_reserve(16, asio::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, auto) { cancelled = ec; }));
    timer.async_wait([&](auto) { signal.emit(asio::cancellation_type::terminal); });
    io.restart();
    io.run();
    CHECK(cancelled == asio::error::operation_aborted);
    ring.async_reserve(16, [&](boost::system::error_code ec, auto) { closed = ec; });
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([&](auto) { ring.close(); });
    io.restart();
    io.run();
    CHECK(closed == asio::error::operation_aborted);
    ring.async_reserve(16, [&](boost::system::error_code ec, auto) { after = ec; });
    io.restart();
    io.run();
    CHECK(after == asio::error::bad_descriptor);
}

namespace {
// log_test.bpf.c's .bss.
struct log_test_bss {
    std::uint32_t target_pid;
    std::uint64_t produced;
    std::uint64_t calls;
};

object load_log_test(std::uint32_t ring_bytes) {
    auto obj = object::open_memory("log_test", elf_of(log_test_bpf__elf_bytes)).value();
    obj.set_max_entries("bpfco_log_ring", ring_bytes).value();
    obj.load().value();
    log_test_bss b{static_cast<std::uint32_t>(::getpid()), 0, 0};
    std::uint32_t zero = 0;
    auto bss = obj.map(".bss").value();
    REQUIRE(bss.info().value_size == sizeof b);
    bss.insert_bytes(&zero, &b, update_flags::any).value();
    return obj;
}

log_test_bss log_bss(const object& obj) {
    log_test_bss b{};
    std::uint32_t zero = 0;
    obj.map(".bss").value().lookup_bytes(&zero, &b).value();
    return b;
}

// What log_test.bpf.c logs for its n-th call, in order.
void expected_for(std::uint64_t n, const std::string& comm, std::vector<std::pair<log_level, std::string>>& out) {
    out.emplace_back(log_level::info, fmt::format("call {} neg={} hex={:#x} comm={} lit={} byte={}", n,
                                                  -static_cast<std::int64_t>(n), n * 3, comm, "fixed", n & 0xff));
    if (n % 100 == 0) out.emplace_back(log_level::warn, fmt::format("hundred {:>4}", n / 100));
    if (n % 1000 == 999) out.emplace_back(log_level::debug, "thousand done");
}

// Receives until `want` records have arrived.
std::vector<log_record> receive_n(asio::io_context& io, log_stream& logs, std::uint64_t want) {
    std::vector<log_record> got;
    io.restart();
    run_coro(io, [&]() -> asio::awaitable<void> {
        while (got.size() < want) {
            auto batch = co_await logs.async_receive(asio::use_awaitable);
            CHECK(!batch.empty());
            for (auto& r : batch) got.push_back(std::move(r));
        }
    });
    return got;
}
}  // namespace

TEST_CASE("bpfco_log: 10,000 calls with mixed argument types arrive in order, formatted exactly") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_log_test(8u << 20);
    auto l = obj.program("log_calls").value().attach().value();
    asio::io_context io;
    auto logs = log_stream::create(io.get_executor(), obj).value();
    // A receive that loses a race with a timer takes nothing: cancellation reaches the ring.
    run_coro(io, [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer t(io, std::chrono::milliseconds(20));
        auto r = co_await (logs.async_receive(asio::use_awaitable) || t.async_wait(asio::use_awaitable));
        CHECK(r.index() == 1);
    });
    constexpr std::uint64_t n = 10000;
    for (std::uint64_t i = 0; i < n; ++i) ::syscall(SYS_getppid);
    std::vector<std::pair<log_level, std::string>> want;
    for (std::uint64_t i = 0; i < n; ++i) expected_for(i, own_comm(), want);
    auto b = log_bss(obj);
    REQUIRE(b.produced == want.size());
    CHECK(logs.dropped().value() == 0);
    auto got = receive_n(io, logs, want.size());
    REQUIRE(got.size() == want.size());
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (got[i].level != want[i].first || got[i].text != want[i].second) {
            if (++wrong <= 3) CHECK_MESSAGE(got[i].text == want[i].second, "record ", i);
        }
        if (i > 0) CHECK(got[i].timestamp_ns >= got[i - 1].timestamp_ns);
    }
    CHECK(wrong == 0);
    MESSAGE(fmt::format("{} {}", got[0].level, got[0].text));
}

TEST_CASE("bpfco_log: with a small ring, produced == received + dropped") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_log_test(4096);
    auto l = obj.program("log_calls").value().attach().value();
    asio::io_context io;
    auto logs = log_stream::create(io.get_executor(), obj).value();
    for (int i = 0; i < 1000; ++i) ::syscall(SYS_getppid);
    auto produced = log_bss(obj).produced;
    auto dropped = logs.dropped().value();
    CHECK(dropped > 0);
    REQUIRE(dropped < produced);
    auto got = receive_n(io, logs, produced - dropped);
    CHECK(got.size() + dropped == produced);
    MESSAGE("produced ", produced, ", received ", got.size(), ", dropped ", dropped);
}

TEST_CASE("log_formats: unknown ids and bad formats are reported in the text, not dropped") {
    const char section[] = "0\x1f" "a {} b\0\0\0" "7\x1f" "{:d}\0";
    auto f = log_formats::parse(std::as_bytes(std::span(section)));
    CHECK(f.size() == 2);
    bpfco_log_record r{};
    r.format_id = 0;
    r.nargs = 1;
    r.types[0] = BPFCO_LOG_ARG_I64;
    std::int64_t v = -3;
    std::memcpy(r.args[0], &v, sizeof v);
    CHECK(f.format(std::as_bytes(std::span(&r, 1))).text == "a -3 b");
    r.format_id = 7;
    r.types[0] = BPFCO_LOG_ARG_STR;
    std::memcpy(r.args[0], "str", 4);
    CHECK(f.format(std::as_bytes(std::span(&r, 1))).text.find("cannot format") != std::string::npos);
    r.format_id = 99;
    CHECK(f.format(std::as_bytes(std::span(&r, 1))).text == "[bpfco_log: unknown format id 99]");
}

TEST_CASE("trace_pipe: bpf_printk lines arrive in order through a tracing instance of the test's own") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    const std::string instance = "/sys/kernel/tracing/instances/bpfco_tracing_test";
    REQUIRE(testing::run("mkdir -p " + instance + " && echo 1 > " + instance +
                         "/events/bpf_trace/bpf_trace_printk/enable") == 0);
    std::vector<std::string> lines;
    {
        auto obj = load_tracing();
        auto l = obj.program("printk_line").value().attach().value();
        asio::io_context io;
        auto pipe = trace_pipe::create(io.get_executor(), instance + "/trace_pipe").value();
        constexpr std::size_t n = 50;
        // Half before the first receive, half while it waits (the wake-up path).
        for (std::size_t i = 0; i < n / 2; ++i) ::syscall(SYS_getpgid, 0);
        asio::steady_timer later(io, std::chrono::milliseconds(50));
        later.async_wait([&](auto) {
            for (std::size_t i = n / 2; i < n; ++i) ::syscall(SYS_getpgid, 0);
        });
        asio::co_spawn(io, [&]() -> asio::awaitable<void> {
            while (lines.size() < n) {
                auto batch = co_await pipe.async_receive(asio::use_awaitable);
                CHECK(!batch.empty());
                for (auto& line : batch)
                    if (line.find("bpfco_tracing line") != std::string::npos) lines.push_back(line);
            }
        }, [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
        io.run_for(std::chrono::seconds(10));  // bounds a hang; the lines are there at once
        CHECK(lines.size() == n);
        for (std::size_t i = 0; i < lines.size(); ++i)
            CHECK(lines[i].ends_with(fmt::format("bpfco_tracing line {}", i)));
        if (!lines.empty()) MESSAGE(lines.front());
        pipe.close();
    }
    CHECK(testing::run("echo 0 > " + instance + "/events/bpf_trace/bpf_trace_printk/enable && rmdir " + instance) == 0);
}
