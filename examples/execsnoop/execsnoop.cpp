// execsnoop: one line per exec, like libbpf-tools' execsnoop.
//   execsnoop [-u UID] [-n NAME] [-d SECONDS] [--json]
// The filters are const volatile globals set before load; the events come through a ring buffer
// whose record type is checked against the program's BTF at set-up.
#include <bpfco/bpfco.hpp>

#include "execsnoop.h"
#include "execsnoop.bpf.skel.h"

#include <boost/asio.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
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

[[noreturn]] void usage(std::string_view problem) {
    fmt::print(stderr, "execsnoop: {}\nusage: execsnoop [-u UID] [-n NAME] [-d SECONDS] [--json]\n", problem);
    std::exit(2);
}

unsigned number(std::string_view flag, const char* text, bool zero_ok) {
    unsigned v = 0;
    const std::string_view s = text ? text : "";
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc{} || r.ptr != s.data() + s.size() || (!zero_ok && v == 0))
        usage(fmt::format("{} needs a {} number, not '{}'", flag, zero_ok ? "non-negative" : "positive", s));
    return v;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "-u") o.uid = number(a, next, true), ++i;
        else if (a == "-d") o.seconds = number(a, next, false), ++i;
        else if (a == "-n") {
            if (!next || !*next || std::strlen(next) > 15) usage("-n needs a command name of 1 to 15 characters");
            o.name = next, ++i;
        } else if (a == "--json") o.json = true;
        else if (a == "-h" || a == "--help") usage("trace exec() calls");
        else usage(fmt::format("unknown argument '{}'", a));
    }
    return o;
}

// JSON strings: the kernel hands us arbitrary bytes.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += {'\\', static_cast<char>(c)};
        else if (c < 0x20 || c >= 0x7f) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
    return out + "\"";
}

std::string_view field(const char* s, std::size_t n) { return {s, strnlen(s, n)}; }

void print(const exec_event& e, bool json) {
    const auto comm = field(e.comm, sizeof e.comm);
    const auto file = field(e.filename, sizeof e.filename);
    if (json)
        fmt::print("{{\"ts_ns\":{},\"pid\":{},\"ppid\":{},\"uid\":{},\"comm\":{},\"filename\":{},\"ret\":{}}}\n",
                   e.ts_ns, e.pid, e.ppid, e.uid, quoted(comm), quoted(file), e.retval);
    else
        fmt::print("{:<16} {:<7} {:<7} {:<6} {:>4} {}\n", comm, e.pid, e.ppid, e.uid, e.retval, file);
}

asio::awaitable<void> receive(bpfco::ring_buffer& events, bool json) {
    for (;;) {
        auto batch = co_await events.async_receive(asio::use_awaitable);
        for (const auto& rec : batch)
            if (auto* e = rec.as<exec_event>()) print(*e, json);
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    try {
        auto obj = bpfco::object::open_skeleton("execsnoop", execsnoop_bpf__elf_bytes).value();
        obj.global<std::uint32_t>("targ_uid").value().set(o.uid).value();
        std::array<char, 16> comm{};
        o.name.copy(comm.data(), comm.size() - 1);
        obj.global<std::array<char, 16>>("targ_comm").value().set(comm).value();
        obj.load().value();

        asio::io_context io;
        auto events = obj.ring_buffer<exec_event>(io.get_executor(), "events").value();
        auto enter = obj.program("execsnoop_enter").value().attach().value();
        auto exit_link = obj.program("execsnoop_exit").value().attach().value();
        if (!o.json) fmt::print("{:<16} {:<7} {:<7} {:<6} {:>4} {}\n", "PCOMM", "PID", "PPID", "UID", "RET", "ARGS");
        std::fflush(stdout);
        fmt::print(stderr, "execsnoop: tracing exec() calls (Ctrl-C ends)\n");

        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](auto, int) { io.stop(); });
        asio::steady_timer deadline(io);
        if (o.seconds) {
            deadline.expires_after(std::chrono::seconds(o.seconds));
            deadline.async_wait([&](auto ec) { if (!ec) io.stop(); });
        }
        asio::co_spawn(io, receive(events, o.json), [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
        io.run();
        if (auto lost = obj.global<std::uint64_t>("lost").value().load())
            fmt::print(stderr, "execsnoop: {} execs lost (ring buffer or pending table full)\n", lost);
    } catch (const bpfco::error_exception& e) {
        fmt::print(stderr, "execsnoop: {}\n", e.what());
        return 1;
    }
}
