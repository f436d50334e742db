// Issue 12, streams: every public member of a moved-from stream I/O object answers as a
// moved-from Asio socket does. get_executor() stays valid, async operations complete through the
// completion token with bad_descriptor (never inline, never a throw), synchronous ones return an
// error or their documented empty value. Each object is built for real first.
#include "support.hpp"

#include <bpfco/log_record.h>
#include <bpfco/tracing_test.h>  // before the skeleton, which names its struct

#include "log_test.bpf.skel.h"
#include "tracing_test.bpf.skel.h"

#include <bpfco/bpfco.hpp>

#include <boost/asio.hpp>

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

using namespace bpfco;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// Starts one operation with a callback and checks it completes with bad_descriptor through
// the io_context, not inside the initiating function.
template <class Start>
void fails_with_bad_descriptor(asio::io_context& io, Start start) {
    bool done = false;
    boost::system::error_code got;
    start([&](boost::system::error_code ec, auto&&...) {
        done = true;
        got = ec;
    });
    CHECK_FALSE(done);
    io.restart();
    io.run_for(5s);
    CHECK(done);
    CHECK(got == asio::error::bad_descriptor);
}

template <class Stream>
void keeps_executor(const Stream& s, asio::io_context& io) {
    CHECK(s.get_executor() == asio::any_io_executor(io.get_executor()));
}

}  // namespace

TEST_CASE("moved-from ring_buffer") {
    BPFCO_REQUIRE_ROOT();
    asio::io_context io;
    auto live = bpfco::ring_buffer::create(io.get_executor(), map::create(bpfco::map_type::ringbuf, "handles_rb", 0, 0, 4096).value())
                    .value();
    auto taken = std::move(live);
    CHECK(taken.is_open());
    keeps_executor(live, io);
    CHECK(live.capacity() == 0);
    CHECK(live.available_bytes() == 0);
    CHECK(live.type_mismatches() == 0);
    CHECK_FALSE(live.is_open());
    auto r = live.try_receive();
    REQUIRE(r.has_error());
    CHECK(r.error().code.value() == EBADF);
    live.flush();
    live.close();
    fails_with_bad_descriptor(io, [&](auto h) { live.async_receive(std::move(h)); });
    // Assigned again, it works as the object it took.
    live = std::move(taken);
    CHECK(live.is_open());
    CHECK(live.capacity() == 4096);
}

TEST_CASE("moved-from perf_buffer") {
    BPFCO_REQUIRE_ROOT();
    asio::io_context io;
    const auto cpus = static_cast<std::uint32_t>(libbpf_num_possible_cpus());
    auto live = bpfco::perf_buffer::create(io.get_executor(),
                                    map::create(bpfco::map_type::perf_event_array, "handles_perf", 4, 4, cpus).value())
                    .value();
    auto taken = std::move(live);
    CHECK(taken.is_open());
    keeps_executor(live, io);
    CHECK_FALSE(live.is_open());
    CHECK(live.lost() == 0);
    CHECK(live.lost(0) == 0);
    CHECK(live.type_mismatches() == 0);
    CHECK(live.cpus().empty());
    CHECK(live.ring_size() == 0);
    auto r = live.try_receive();
    REQUIRE(r.has_error());
    CHECK(r.error().code.value() == EBADF);
    live.flush();
    live.close();
    fails_with_bad_descriptor(io, [&](auto h) { live.async_receive(std::move(h)); });
}

TEST_CASE("moved-from user_ring_writer") {
    BPFCO_REQUIRE_ROOT();
    asio::io_context io;
    auto live = user_ring_writer::create(io.get_executor(),
                                         map::create(bpfco::map_type::user_ringbuf, "handles_urb", 0, 0, 4096).value())
                    .value();
    auto taken = std::move(live);
    CHECK(taken.is_open());
    keeps_executor(live, io);
    CHECK_FALSE(live.is_open());
    CHECK(live.capacity() == 0);
    auto r = live.try_reserve(8);
    REQUIRE(r.has_error());
    CHECK(r.error().code.value() == EBADF);
    live.submit({});
    live.discard({});
    live.close();
    fails_with_bad_descriptor(io, [&](auto h) { live.async_reserve(8, std::move(h)); });
}

TEST_CASE("moved-from map_watch") {
    BPFCO_REQUIRE_ROOT();
    asio::io_context io;
    auto counters = array<std::uint64_t>::make(map::create(bpfco::map_type::array, "handles_arr", 4, 8, 2).value()).value();
    map_watch live(io, std::move(counters), 1s);
    auto taken = std::move(live);
    CHECK(taken.is_open());
    keeps_executor(live, io);
    CHECK_FALSE(live.is_open());
    CHECK(live.interval() == 0s);
    CHECK(live.view().fd() < 0);
    live.cancel();
    live.close();
    fails_with_bad_descriptor(io, [&](auto h) { live.async_receive(std::move(h)); });
}

TEST_CASE("moved-from iterator_stream") {
    BPFCO_REQUIRE_ROOT();
    // Only the task iterator: some kernels refuse the map-element one (features::iterator_refusal).
    auto obj = object::open_memory("tracing_test", testing::elf_of(tracing_test_bpf__elf_bytes)).value();
    obj.program("list_elements").value().set_autoload(false).value();
    obj.load().value();
    auto l = obj.program("list_tasks").value().attach_iter().value();
    asio::io_context io;
    auto live = iterator_stream::create(io.get_executor(), l).value();
    auto taken = std::move(live);
    CHECK(taken.is_open());
    keeps_executor(live, io);
    CHECK_FALSE(live.is_open());
    live.close();
    char buf[64];
    fails_with_bad_descriptor(io, [&](auto h) { live.async_read_some(asio::buffer(buf), std::move(h)); });
}

TEST_CASE("moved-from log_stream") {
    BPFCO_REQUIRE_ROOT();
    auto obj = object::load_memory("log_test", testing::elf_of(log_test_bpf__elf_bytes)).value();
    asio::io_context io;
    auto live = log_stream::create(io.get_executor(), obj).value();
    auto taken = std::move(live);
    CHECK(taken.is_open());
    keeps_executor(live, io);
    CHECK_FALSE(live.is_open());
    auto d = live.dropped();
    REQUIRE(d.has_error());
    CHECK(d.error().code.value() == EBADF);
    live.close();
    fails_with_bad_descriptor(io, [&](auto h) { live.async_receive(std::move(h)); });
}

TEST_CASE("moved-from trace_pipe") {
    BPFCO_REQUIRE_ROOT();
    // A tracing instance of our own: the global trace_pipe belongs to whoever reads it.
    const std::string instance = "/sys/kernel/tracing/instances/bpfco_handles_tp";
    ::rmdir(instance.c_str());
    if (::mkdir(instance.c_str(), 0755) != 0) {
        testing::skip("cannot make the tracefs instance " + instance + ": " + std::strerror(errno));
        return;
    }
    {
        asio::io_context io;
        auto live = trace_pipe::create(io.get_executor(), instance + "/trace_pipe").value();
        auto taken = std::move(live);
        CHECK(taken.is_open());
        keeps_executor(live, io);
        CHECK_FALSE(live.is_open());
        live.close();
        fails_with_bad_descriptor(io, [&](auto h) { live.async_receive(std::move(h)); });
    }
    CHECK(::rmdir(instance.c_str()) == 0);
}

TEST_CASE("moved-from xsk_socket") {
    BPFCO_REQUIRE_ROOT();
    // A veth pair inside a namespace of our own; no XDP program is needed to bind a socket.
    const std::string ns = "bpfco_handles_ns";
    testing::run("ip netns del " + ns + " 2>/dev/null");
    REQUIRE(testing::run("ip netns add " + ns) == 0);
    struct remove_ns {
        std::string name;
        ~remove_ns() { testing::run("ip netns del " + name); }
    } cleanup{ns};
    REQUIRE(testing::run("ip -n " + ns + " link add bpfco_hdl_a type veth peer name bpfco_hdl_b") == 0);
    REQUIRE(testing::run("ip -n " + ns + " link set bpfco_hdl_a up") == 0);
    REQUIRE(testing::run("ip -n " + ns + " link set bpfco_hdl_b up") == 0);

    asio::io_context io;
    unique_fd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    unique_fd target(::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(home);
    REQUIRE(target);
    REQUIRE(::setns(target.get(), CLONE_NEWNET) == 0);
    auto created = xsk_socket::create(io.get_executor(), "bpfco_hdl_a");
    REQUIRE(::setns(home.get(), CLONE_NEWNET) == 0);
    auto live = std::move(created).value();

    auto taken = std::move(live);
    CHECK(taken.is_open());
    keeps_executor(live, io);
    CHECK_FALSE(live.is_open());
    CHECK(live.fd() == -1);
    CHECK(live.queue() == 0);
    auto st = live.statistics();
    REQUIRE(st.has_error());
    CHECK(st.error().code.value() == EBADF);
    live.close();
    fails_with_bad_descriptor(io, [&](auto h) { live.async_receive(std::move(h)); });
    const std::byte frame[64] = {};
    const std::span<const std::byte> bytes(frame);
    fails_with_bad_descriptor(io, [&](auto h) { live.async_send(bytes, std::move(h)); });
}
