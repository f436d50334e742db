// execsnoop: one line per exec, like libbpf-tools' execsnoop.
//   execsnoop [-u UID] [-n NAME] [-d SECONDS] [--json]
// The filters are const volatile globals set before load; the events come through a ring buffer
// whose record type is checked against the program's BTF at set-up.
#include <bpfco/bpfco.hpp>

#include "command_line.hpp"
#include "json.hpp"
#include "tracing.hpp"
#include "execsnoop.bpf.types.hpp"  // execsnoop::exec_event, execsnoop::globals, execsnoop::maps
#include "execsnoop.bpf.skel.h"

#include <boost/asio.hpp>

#include <cstdio>
#include <string_view>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace {

struct options {
    std::uint32_t uid = static_cast<std::uint32_t>(-1);
    std::string name;
    unsigned seconds = 0;  // 0: until Ctrl-C
    bool json = false;
};

options parse(int argc, char** argv) {
    options o;
    examples::command_line cli("execsnoop", "Traces exec() calls: one line each.");
    cli.add_number("-u", o.uid, "UID", "only this user id");
    cli.add_option("-n", o.name, "only commands of this name (1 to 15 characters)")
        ->type_name("NAME")
        ->check(examples::command_name());
    cli.add_number("-d", o.seconds, "SECONDS", "stop after SECONDS (default: at Ctrl-C)", 1);
    cli.add_flag("--json", o.json, "print JSON lines")->disable_flag_override();
    cli.parse_or_exit(argc, argv);
    return o;
}

void print(const execsnoop::exec_event& e, bool json) {
    const auto comm = examples::field(e.comm, sizeof e.comm);
    const auto file = examples::field(e.filename, sizeof e.filename);
    if (json)
        fmt::print("{{\"ts_ns\":{},\"pid\":{},\"ppid\":{},\"uid\":{},\"comm\":{},\"filename\":{},\"ret\":{}}}\n",
                   e.ts_ns, e.pid, e.ppid, e.uid, examples::quoted(comm), examples::quoted(file), e.retval);
    else
        fmt::print("{:<16} {:<7} {:<7} {:<6} {:>4} {}\n", comm, e.pid, e.ppid, e.uid, e.retval, file);
}

asio::awaitable<void> receive(bpfco::ring_buffer& events, bool json) {
    for (;;) {
        auto batch = co_await events.async_receive(asio::use_awaitable);
        for (const auto& rec : batch)
            if (auto* e = rec.as<execsnoop::exec_event>()) print(*e, json);
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    try {
        auto obj = bpfco::object::open_skeleton("execsnoop", execsnoop_bpf__elf_bytes).value();
        obj.global(execsnoop::globals::targ_uid).value().set(o.uid).value();
        obj.global(execsnoop::globals::targ_comm).value().set(examples::comm_filter(o.name)).value();
        obj.load().value();

        asio::io_context io;
        auto events = obj.ring_buffer(io, execsnoop::maps::events).value();
        auto enter = obj.program("execsnoop_enter").value().attach().value();
        auto exit_link = obj.program("execsnoop_exit").value().attach().value();
        if (!o.json) fmt::print("{:<16} {:<7} {:<7} {:<6} {:>4} {}\n", "PCOMM", "PID", "PPID", "UID", "RET", "ARGS");
        std::fflush(stdout);
        fmt::print(stderr, "execsnoop: tracing exec() calls (Ctrl-C ends)\n");

        asio::co_spawn(io, receive(events, o.json), [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
        examples::run_until_stopped(io, o.seconds);
        if (auto lost = obj.global(execsnoop::globals::lost).value().load())
            fmt::print(stderr, "execsnoop: {} execs lost (ring buffer or pending table full)\n", lost);
    } catch (const bpfco::error_exception& e) {
        fmt::print(stderr, "execsnoop: {}\n", e.what());
        return 1;
    }
}
