// runqlat: run-queue latency as a log2 histogram per interval, like libbpf-tools' runqlat.
//   runqlat [-p PID] [-m] [-i SECONDS] [-d SECONDS]
// The filters are const volatile globals set before load; the histogram map is read through a
// map_watch (its deltas are the interval's histogram); the sample count is a .bss counter read
// without a syscall.
#include <bpfco/bpfco.hpp>

#include "runqlat.bpf.skel.h"

#include <boost/asio.hpp>

#include <charconv>
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

[[noreturn]] void usage(std::string_view problem) {
    fmt::print(stderr, "runqlat: {}\nusage: runqlat [-p PID] [-m] [-i SECONDS] [-d SECONDS]\n", problem);
    std::exit(2);
}

unsigned number(std::string_view flag, const char* text) {
    unsigned v = 0;
    const std::string_view s = text ? text : "";
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc{} || r.ptr != s.data() + s.size() || v == 0)
        usage(fmt::format("{} needs a positive number, not '{}'", flag, s));
    return v;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "-p") o.pid = number(a, next), ++i;
        else if (a == "-m") o.ms = true;
        else if (a == "-i") o.interval = number(a, next), ++i;
        else if (a == "-d") o.seconds = number(a, next), ++i;
        else if (a == "-h" || a == "--help") usage("summarize run-queue latency");
        else usage(fmt::format("unknown argument '{}'", a));
    }
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
        obj.global<std::uint32_t>("targ_tgid").value().set(o.pid).value();
        obj.global<bool>("targ_ms").value().set(o.ms).value();
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
        const auto samples = obj.global<std::uint64_t>("samples").value().load();
        fmt::print("total: histogram {}, samples {}\n", bpfco::histogram::log2(std::move(total)).total(), samples);
    } catch (const bpfco::error_exception& e) {
        fmt::print(stderr, "runqlat: {}\n", e.what());
        return 1;
    }
}
