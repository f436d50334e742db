// opensnoop: one line per open, like libbpf-tools' opensnoop.
//   opensnoop [-p PID] [-u UID] [-x] [-n NAME] [-d SECONDS] [--json]
// The filters are const volatile globals set before load.
#include <bpfco/bpfco.hpp>

#include "command_line.hpp"
#include "json.hpp"
#include "tracing.hpp"
#include "opensnoop.bpf.types.hpp"  // opensnoop::open_event, opensnoop::globals, opensnoop::maps
#include "opensnoop.bpf.skel.h"

#include <boost/asio.hpp>

#include <cstdio>
#include <string_view>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace {

struct options {
    std::uint32_t pid = 0;
    std::uint32_t uid = static_cast<std::uint32_t>(-1);
    bool failed = false;
    std::string name;
    unsigned seconds = 0;  // 0: until Ctrl-C
    bool json = false;
};

options parse(int argc, char** argv) {
    options o;
    examples::command_line cli("opensnoop", "Traces open() calls: one line each.");
    cli.add_number("-p", o.pid, "PID", "only this process id", 1);
    cli.add_number("-u", o.uid, "UID", "only this user id");
    cli.add_flag("-x", o.failed, "only failed opens")->disable_flag_override();
    cli.add_option("-n", o.name, "only commands of this name (1 to 15 characters)")
        ->type_name("NAME")
        ->check(examples::command_name());
    cli.add_number("-d", o.seconds, "SECONDS", "stop after SECONDS (default: at Ctrl-C)", 1);
    cli.add_flag("--json", o.json, "print JSON lines")->disable_flag_override();
    cli.parse_or_exit(argc, argv);
    return o;
}

void print(const opensnoop::open_event& e, bool json) {
    const auto comm = examples::field(e.comm, sizeof e.comm);
    const auto path = examples::field(e.path, sizeof e.path);
    // Like libbpf-tools: FD is the fd, or -1 with ERR the errno.
    const int fd = e.ret >= 0 ? e.ret : -1, err = e.ret >= 0 ? 0 : -e.ret;
    if (json)
        fmt::print("{{\"ts_ns\":{},\"pid\":{},\"uid\":{},\"comm\":{},\"fd\":{},\"err\":{},\"flags\":{},\"path\":{}}}\n",
                   e.ts_ns, e.pid, e.uid, examples::quoted(comm), fd, err, e.flags, examples::quoted(path));
    else
        fmt::print("{:<7} {:<16} {:>3} {:>3} {:08o} {}\n", e.pid, comm, fd, err, e.flags, path);
}

asio::awaitable<void> receive(bpfco::ring_buffer& events, bool json) {
    for (;;) {
        auto batch = co_await events.async_receive(asio::use_awaitable);
        for (const auto& rec : batch)
            if (auto* e = rec.as<opensnoop::open_event>()) print(*e, json);
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    try {
        auto obj = bpfco::object::open_skeleton("opensnoop", opensnoop_bpf__elf_bytes).value();
        obj.global(opensnoop::globals::targ_pid).value().set(o.pid).value();
        obj.global(opensnoop::globals::targ_uid).value().set(o.uid).value();
        obj.global(opensnoop::globals::targ_failed).value().set(o.failed).value();
        obj.global(opensnoop::globals::targ_comm).value().set(examples::comm_filter(o.name)).value();
        obj.load().value();

        asio::io_context io;
        auto events = obj.ring_buffer(io, opensnoop::maps::events).value();
        auto enter = obj.program("opensnoop_enter").value().attach().value();
        auto exit_link = obj.program("opensnoop_exit").value().attach().value();
        if (!o.json) fmt::print("{:<7} {:<16} {:>3} {:>3} {:>8} {}\n", "PID", "COMM", "FD", "ERR", "FLAGS", "PATH");
        std::fflush(stdout);
        fmt::print(stderr, "opensnoop: tracing open() calls (Ctrl-C ends)\n");

        asio::co_spawn(io, receive(events, o.json), [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
        examples::run_until_stopped(io, o.seconds);
        if (auto lost = obj.global(opensnoop::globals::lost).value().load())
            fmt::print(stderr, "opensnoop: {} opens lost (ring buffer or pending table full)\n", lost);
    } catch (const bpfco::error_exception& e) {
        fmt::print(stderr, "opensnoop: {}\n", e.what());
        return 1;
    }
}
