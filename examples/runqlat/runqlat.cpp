// runqlat: run-queue latency as a log2 histogram per interval, like libbpf-tools' runqlat.
//   runqlat [-p PID] [-m] [-i SECONDS] [-d SECONDS]
// The filters are const volatile globals set before load; the histogram map is read through a
// map_watch (its deltas are the interval's histogram); the sample count is a .bss counter read
// without a syscall.
#include <bpfco/bpfco.hpp>

#include "command_line.hpp"
#include "runqlat.bpf.types.hpp"  // runqlat::globals: its filters and counter, typed
#include "runqlat.bpf.skel.h"

#include <boost/asio.hpp>

#include <csignal>
#include <cstdio>
#include <string_view>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace {

struct options {
    std::uint32_t pid = 0;
    bool ms = false;
    unsigned interval = 1;
    unsigned seconds = 0;  // 0: until Ctrl-C
};

options parse(int argc, char** argv) {
    options o;
    examples::command_line cli("runqlat", "Summarizes run-queue latency as a histogram per interval.");
    cli.add_number("-p", o.pid, "PID", "only this process id", 1);
    cli.add_flag("-m", o.ms, "milliseconds instead of microseconds")->disable_flag_override();
    cli.add_number("-i", o.interval, "SECONDS", "print every SECONDS (default 1)", 1);
    cli.add_number("-d", o.seconds, "SECONDS", "stop after SECONDS (default: at Ctrl-C)", 1);
    cli.parse_or_exit(argc, argv);
    return o;
}

using hist_view = bpfco::array<std::uint64_t>;

std::vector<std::uint64_t> counts(const bpfco::map_snapshot<std::uint32_t, std::uint64_t>& snap, bool deltas) {
    std::vector<std::uint64_t> c;
    for (const auto& e : snap.entries) c.push_back(deltas ? e.delta : e.value);
    return c;
}

asio::awaitable<void> print_loop(const options& o, bpfco::map_watch<hist_view>& watch) {
    const char* unit = o.ms ? "msecs" : "usecs";
    for (unsigned elapsed = 0; !o.seconds || elapsed < o.seconds; elapsed += o.interval) {
        auto snap = co_await watch.async_receive(asio::use_awaitable);
        auto h = bpfco::histogram::log2(counts(snap, true));
        fmt::print("{}: {} samples\n{}\n", unit, h.total(), h);
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    try {
        auto obj = bpfco::object::open_skeleton("runqlat", runqlat_bpf__elf_bytes).value();
        obj.global(runqlat::globals::targ_tgid).value().set(o.pid).value();
        obj.global(runqlat::globals::targ_ms).value().set(o.ms).value();
        obj.load().value();
        auto hist = obj.map<hist_view>("runq_latency").value();
        auto final_view = hist_view::make(hist.untyped().duplicate().value()).value();

        asio::io_context io;
        bpfco::map_watch watch(io, std::move(hist), std::chrono::seconds(o.interval));
        std::vector<bpfco::link> links;
        for (const char* p : {"runqlat_wakeup", "runqlat_wakeup_new", "runqlat_switch"})
            links.push_back(obj.program(p).value().attach().value());
        fmt::print(stderr, "runqlat: tracing run-queue latency of {} every {} s (Ctrl-C ends)\n",
                   o.pid ? fmt::format("pid {}", o.pid) : std::string("every process"), o.interval);

        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](auto, int) { io.stop(); });
        asio::co_spawn(io, print_loop(o, watch), [&](std::exception_ptr e) {
            signals.cancel();
            if (e) std::rethrow_exception(e);
        });
        io.run();

        // Detached first, so that nothing lands between the two reads: the whole run's histogram
        // and the program's own count of what it put there agree exactly.
        links.clear();
        const auto slots = final_view.read_all().value();
        std::vector<std::uint64_t> total;
        for (const auto& [slot, n] : slots) total.push_back(n);
        const auto samples = obj.global(runqlat::globals::samples).value().load();
        fmt::print("total: histogram {}, samples {}\n", bpfco::histogram::log2(std::move(total)).total(), samples);
    } catch (const bpfco::error_exception& e) {
        fmt::print(stderr, "runqlat: {}\n", e.what());
        return 1;
    }
}
