// A sampling CPU profiler, like bcc's profile: samples every CPU at a frequency, counts
// (process, kernel stack, user stack) in BPF, then prints the top stacks with symbols or
// folded stacks, and draws them as a flame graph:
//   profile -F 99 -d 5 [-p PID] [--kernel-only|--user-only] [--folded] [--top N] [--svg FILE]
//   profile -F 99 -d 10 --svg cpu.svg      (open cpu.svg in a browser)
#include <bpfco/bpfco.hpp>

#include <linux/types.h>
#include <bpfco/profile.h>

#include "command_line.hpp"
#include "profile.bpf.skel.h"

#include <boost/asio.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string_view>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace {

struct options {
    std::uint64_t frequency = 99;
    unsigned seconds = 5;
    std::uint32_t pid = 0;
    bool kernel = true;
    bool user = true;
    bool folded = false;
    std::size_t top = 10;
    std::string svg;  // flame graph file, or empty
};

options parse(int argc, char** argv) {
    options o;
    examples::command_line cli("profile",
                               "Samples stacks on every CPU; prints the top ones, folded stacks or a flame graph.");
    cli.add_number("-F", o.frequency, "HZ", "samples per second on each CPU (default 99)", 1);
    cli.add_number("-d", o.seconds, "SECONDS", "sample for SECONDS (default 5; Ctrl-C ends early)", 1);
    cli.add_number("-p", o.pid, "PID", "only this process id", 1);
    auto* kernel_only = cli.add_flag_callback("--kernel-only", [&o] { o.user = false; }, "kernel stacks only");
    cli.add_flag_callback("--user-only", [&o] { o.kernel = false; }, "user stacks only")->excludes(kernel_only);
    cli.add_flag("--folded", o.folded, "print every stack folded, one line each")->disable_flag_override();
    cli.add_number("--top", o.top, "N", "print the N most sampled stacks (default 10)", 1);
    cli.add_option("--svg", o.svg, "draw a flame graph into FILE")
        ->type_name("FILE")
        ->check(CLI::Validator([](const std::string& file) { return file.empty() ? "expected a file name" : ""; }, ""));
    cli.parse_or_exit(argc, argv);
    return o;
}

struct stack_count {
    profile_key key;
    std::uint64_t count;
};

std::vector<bpfco::frame> frames_of(const bpfco::stack_trace_map& stacks, bpfco::symbolizer& sym,
                                    std::int32_t id, bool kernel, pid_t pid) {
    auto addrs = stacks.read(id).value();
    return kernel ? sym.kernel_stack(addrs) : sym.user_stack(pid, addrs);
}

std::string frame_name(const bpfco::frame& f) { return f.known() ? f.symbol : f.name(); }

void write_svg(const options& o, const bpfco::flame_graph& fg, std::size_t stacks) {
    bpfco::flame_graph_options fo;
    fo.title = "CPU profile";
    fo.subtitle = fmt::format("{} samples in {} stacks at {} Hz over {} s{}", fg.total(), stacks, o.frequency,
                              o.seconds, o.pid ? fmt::format(", pid {}", o.pid) : std::string{});
    std::ofstream out(o.svg, std::ios::binary | std::ios::trunc);
    out << fg.svg(fo);
    out.close();
    if (!out) throw bpfco::error_exception(bpfco::make_error(EIO, fmt::format("cannot write the flame graph to {}", o.svg)));
    std::fprintf(stderr, "profile: flame graph in %s\n", o.svg.c_str());
}

void report(const options& o, const bpfco::object& obj) {
    auto counts = obj.map("counts").value();
    auto stacks = obj.map<bpfco::stack_trace_map>("stacks").value();
    std::vector<stack_count> all;
    profile_key key{}, next{};
    for (bool first = true; counts.next_key_bytes(first ? nullptr : &key, &next).value(); first = false) {
        key = next;
        std::uint64_t n = 0;
        if (counts.lookup_bytes(&key, &n).value()) all.push_back({key, n});
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.count > b.count; });

    bpfco::symbolizer sym;
    if (o.kernel && !sym.kernel_problem().empty()) std::fprintf(stderr, "profile: %s\n", sym.kernel_problem().c_str());
    std::uint64_t samples = 0;
    for (const auto& s : all) samples += s.count;
    std::fprintf(stderr, "profile: %llu samples in %zu stacks\n", static_cast<unsigned long long>(samples), all.size());
    bpfco::flame_graph fg;
    std::vector<std::string> names;
    std::vector<bpfco::flame_frame> stack;
    const bool every = o.folded || !o.svg.empty();
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& [k, n] = all[i];
        const bool print = o.folded || i < o.top;
        if (!print && !every) break;
        const std::string comm(k.comm, ::strnlen(k.comm, sizeof k.comm));
        const auto pid = static_cast<pid_t>(k.pid);
        const auto kernel = o.kernel ? frames_of(stacks, sym, k.kernel_stack, true, pid) : std::vector<bpfco::frame>{};
        const auto user = o.user ? frames_of(stacks, sym, k.user_stack, false, pid) : std::vector<bpfco::frame>{};
        if (!o.svg.empty()) {
            // Root first: the process, user frames outermost first, then the kernel's.
            names.assign({comm});
            for (auto it = user.rbegin(); it != user.rend(); ++it) names.push_back(frame_name(*it));
            for (auto it = kernel.rbegin(); it != kernel.rend(); ++it) names.push_back(frame_name(*it));
            stack.clear();
            for (std::size_t j = 0; j < names.size(); ++j)
                stack.push_back({names[j], j == 0 ? bpfco::frame_kind::process
                                           : j <= user.size() ? bpfco::frame_kind::user
                                                              : bpfco::frame_kind::kernel});
            fg.add(stack, n);
        }
        if (!print) continue;
        if (o.folded) {
            fmt::print("{}\n", bpfco::folded_line(comm, user, kernel, n));
            continue;
        }
        // bcc's layout: leaf first, kernel above user, then the process and the count.
        for (const auto& f : kernel) fmt::print("    {}\n", f);
        if (!kernel.empty() && !user.empty()) fmt::print("    --\n");
        for (const auto& f : user) fmt::print("    {}\n", f);
        fmt::print("    -                {} ({})\n        {}\n\n", comm, k.pid, n);
    }
    if (!o.svg.empty()) write_svg(o, fg, all.size());
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    try {
        auto obj = bpfco::object::load_skeleton("profile", profile_bpf__elf_bytes).value();
        profile_config cfg{o.pid, o.kernel, o.user};
        std::uint32_t zero = 0;
        obj.map("settings").value().insert_bytes(&zero, &cfg, bpfco::update_flags::any).value();

        bpfco::perf_event_options po;
        po.frequency = o.frequency;
        if (o.pid) po.pid = static_cast<pid_t>(o.pid);
        auto events = bpfco::perf_event::open(po).value();
        if (!events.note().empty()) std::fprintf(stderr, "profile: %s\n", events.note().c_str());
        auto sampling = obj.program("profile_sample").value().attach_perf_event(events).value();
        std::fprintf(stderr, "profile: sampling %zu CPUs at %llu Hz for %u s (Ctrl-C ends early)\n",
                     events.cpus().size(), static_cast<unsigned long long>(o.frequency), o.seconds);

        // The duration or Ctrl-C, whichever comes first.
        asio::io_context io;
        asio::steady_timer timer(io, std::chrono::seconds(o.seconds));
        asio::signal_set signals(io, SIGINT, SIGTERM);
        timer.async_wait([&](auto) { signals.cancel(); });
        signals.async_wait([&](auto, int) { timer.cancel(); });
        io.run();
        sampling.detach();
        report(o, obj);
    } catch (const bpfco::error_exception& e) {
        std::fprintf(stderr, "profile: %s\n", e.what());
        return 1;
    }
}
