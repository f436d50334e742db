// monitord: one io_context, several coroutines co_awaiting kernel events and serving HTTP.
#include "event_hub.hpp"
#include "events.hpp"
#include "http_server.hpp"
#include "metrics.hpp"
#include "nats_publisher.hpp"
#include "options.hpp"
#include "output.hpp"
#include "pins.hpp"
#include "privileges.hpp"

#include "monitord.bpf.types.hpp"  // monitord::monitord_exec, ...: before the skeleton, which names them
#include "monitord.bpf.skel.h"

#include <bpfco/bpfco.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace asio = boost::asio;
using namespace monitord;

namespace {

void log(const std::string& line) { log_line(line); }

[[noreturn]] void fail(int status, const std::string& message) {
    log_line(message);
    std::exit(status);
}

// Chooses how TCP connects are seen, before load: each connect probe is written as kprobe, fexit and
// tracepoint, in monitord's order of preference (the kprobes report the source port, which the
// tracepoint cannot). Returns which programs were kept and why, for the log.
std::string choose_connect_programs(bpfco::object& obj) {
    const std::string tp = "monitord_tp_connect";
    auto choices = obj.choose_alternatives({{"monitord_kprobe_connect", "monitord_fexit_connect", tp},
                                            {"monitord_kretprobe_connect", "monitord_fexit_connect", tp},
                                            {"monitord_kprobe_connect6", "monitord_fexit_connect6", tp},
                                            {"monitord_kretprobe_connect6", "monitord_fexit_connect6", tp}});
    if (!choices) fail(1, choices.error().message);
    std::vector<std::string> kept;
    for (const auto& c : choices.value())
        if (std::find(kept.begin(), kept.end(), c.kept) == kept.end()) kept.push_back(c.kept);
    const auto& first = choices.value().front();
    return fmt::format("{} ({}{}{})", fmt::join(kept, ", "), first.reason, first.skipped.empty() ? "" : "; not ",
                       fmt::join(first.skipped, "; not "));
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// Pinned links re-opened from --pin-dir, by interface; empty where nothing is pinned yet.
struct pinned_links {
    std::vector<bpfco::link> xdp, tc;
};

// Before load, before anything changes: every pin this monitord would reuse must be of its own
// layout, all checked first, so that a DIR of another layout is refused whole, never half-used.
pinned_links check_pin_dir(bpfco::object& obj, const options& opt) {
    const auto& dir = opt.pin_dir;
    if (auto err = make_pin_dir(dir); !err.empty()) fail(1, err);
    for (const char* name : pinned_maps) {
        const auto path = dir + "/" + name;
        if (!exists(path)) continue;
        auto pinned = bpfco::map::from_pinned(path);
        if (!pinned) fail(1, fmt::format("--pin-dir: {}", pinned.error().message));
        if (auto why = map_mismatch(obj, name, pinned.value().info()); !why.empty())
            fail(1, fmt::format("--pin-dir: {} is {}: pinned by another program or version? monitord removes only "
                                "what it pinned: remove it yourself (rm {})",
                                path, why, path));
    }
    pinned_links links;
    auto reopen = [&](const std::string& path, bpfco::link_type type) {
        if (!exists(path)) return bpfco::link{};
        auto l = bpfco::link::from_pinned(path, type);
        if (!l) fail(1, fmt::format("--pin-dir: {}", l.error().message));
        return std::move(l).value();
    };
    for (auto& name : opt.interfaces) {
        links.xdp.push_back(reopen(xdp_pin(dir, name), bpfco::link_type::xdp));
        links.tc.push_back(reopen(tc_pin(dir, name), bpfco::link_type::tcx));
    }
    for (const char* name : pinned_maps)
        if (auto r = obj.set_pin_path(name, dir + "/" + name); !r) fail(1, r.error().message);
    return links;
}

struct monitor_state {
    bpfco::object obj;
    std::vector<bpfco::link> links;
    /// The programs behind `links`, each once; their cost is exported with --bpf-stats.
    std::vector<bpfco::program> attached;
    bool bpf_stats = false;
    bpfco::per_cpu_array<monitord_packets> packets;
    bpfco::per_cpu_array<std::uint64_t> counters;
    bpfco::map lifetime;
    bpfco::map event_drops;
    std::uint64_t exec_events = 0, open_events = 0, connect_events = 0, malformed = 0;
    const bpfco::ring_buffer* events = nullptr;
    const line_output* output = nullptr;
    const http_server* server = nullptr;
    const event_hub* hub = nullptr;
    nats_publisher* nats = nullptr;  ///< with --nats

    metrics snapshot() const {
        metrics m;
        if (auto all = packets.read_all(); all)
            for (auto& [slot, per_cpu] : all.value())
                for (auto& v : per_cpu) {
                    auto& p = m.packets[slot / MONITORD_PROTOS][slot % MONITORD_PROTOS];
                    p.packets += v.packets;
                    p.bytes += v.bytes;
                }
        // Right after the packet counts, so that the XDP program's runs match them.
        if (bpf_stats)
            for (auto& p : attached)
                if (auto info = bpfco::program_info_of(p); info)
                    m.programs.push_back({std::string(p.name()), info.value().run_count, info.value().run_time});
        if (auto all = counters.read_all_summed(); all)
            for (auto& [slot, v] : all.value()) {
                if (slot == MONITORD_BLOCKED_PACKETS) m.blocked_packets = v;
                if (slot == MONITORD_LIFETIME_SUM_US) m.lifetime_sum_us = v;
            }
        if (auto h = bpfco::histogram::read_log2(lifetime); h) m.lifetime_us = std::move(h).value();
        if (auto dropped = bpfco::read_drop_counter(event_drops); dropped) m.events_dropped = dropped.value();
        m.exec_events = exec_events;
        m.open_events = open_events;
        m.connect_events = connect_events;
        if (events) m.record_type_mismatches = events->type_mismatches();
        if (output) m.output_dropped = output->dropped();
        m.log_dropped = log_dropped();
        if (server) m.http = server->refusals();
        if (hub) m.stream = hub->stats();
        if (nats) m.nats = nats->stats();
        return m;
    }
};

asio::awaitable<void> print_events(monitor_state& d, bpfco::ring_buffer& events, output_format format,
                                   line_output& out, event_hub& hub) {
    for (;;) {
        auto [ec, batch] = co_await events.async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;  // closed on shutdown
        for (const auto& rec : batch) {
            // Each kind is checked as its own struct (as<T>), so a record of the wrong size is
            // counted in the stream's type_mismatches(), which /metrics exports. Qualified: the
            // skeleton declares a global `struct monitord_exec` too (its record-type pointers).
            bool fits = false;
            switch (event_kind(rec.data())) {
            case MONITORD_EXEC: ++d.exec_events; fits = rec.as<monitord::monitord_exec>() != nullptr; break;
            case MONITORD_OPEN: ++d.open_events; fits = rec.as<monitord::monitord_open>() != nullptr; break;
            case MONITORD_CONNECT:
                ++d.connect_events;
                fits = rec.as<monitord::monitord_connect>() != nullptr;
                break;
            }
            if (!fits) {
                ++d.malformed;
                continue;
            }
            hub.publish(rec.data());
            if (d.nats) d.nats->publish(rec.data());
            if (auto line = format_event(rec.data(), format))
                out.push(*line);
            else
                ++d.malformed;
        }
    }
}

// Runs a long-lived coroutine; when an exception ends it, logs that and starts it again. A second
// failure within a second is one that restarting does not cure: `give_up` ends monitord then.
template <class MakeCoroutine>
void supervise(asio::io_context& io, std::string name, MakeCoroutine make, std::function<void()> give_up,
               std::chrono::steady_clock::time_point last_failure = {}) {
    auto coroutine = make();
    asio::co_spawn(io, std::move(coroutine),
                   [&io, name = std::move(name), make = std::move(make), give_up = std::move(give_up),
                    last_failure](std::exception_ptr e) mutable {
                       if (!e) return;
                       const auto now = std::chrono::steady_clock::now();
                       const bool again = now - last_failure < std::chrono::seconds(1);
                       log(fmt::format("{} ended by an exception: {}; {}", name, exception_text(e),
                                       again ? "it failed twice within a second, stopping monitord" : "restarting it"));
                       if (again) return give_up();
                       supervise(io, std::move(name), std::move(make), std::move(give_up), now);
                   });
}

// What the arguments name, resolved before anything is bound, loaded or attached, so that every
// mistake in them exits 2 with nothing to undo.
struct resolved {
    std::vector<int> ifindexes;
    run_as user;
};

resolved check_arguments(const options& opt) {
    if (auto missing = missing_start_capabilities(); !missing.empty()) fail(2, missing);
    if (!opt.pin_dir.empty())
        if (auto problem = pin_dir_problem(opt.pin_dir); !problem.empty()) fail(2, problem);
    resolved r;
    for (auto& name : opt.interfaces) {
        auto idx = bpfco::interface_index(name);
        if (!idx) fail(2, fmt::format("--interface {}: no such network interface", name));
        // Two names for one interface (an altname): the second attach would fail as a repeat does.
        if (auto same = std::find(r.ifindexes.begin(), r.ifindexes.end(), idx.value()); same != r.ifindexes.end())
            fail(2, fmt::format("--interface {}: the same interface as --interface {}", name,
                                opt.interfaces[static_cast<std::size_t>(same - r.ifindexes.begin())]));
        r.ifindexes.push_back(idx.value());
    }
    auto user = find_user(opt.user);
    if (!user) fail(2, user.error().message);
    r.user = std::move(user).value();
    if (!is_loopback(opt.listen_address))
        log(fmt::format("WARNING: --listen {} serves the metrics beyond this host, to anyone who can reach it, "
                        "without authentication; put a firewall or an authenticating proxy in front",
                        host_port(opt.listen_address, opt.listen_port)));
    return r;
}

// Opens and loads the programs (reusing the maps pinned under --pin-dir) and fills the blocklist.
pinned_links load(monitor_state& d, const options& opt) {
    auto obj = bpfco::object::open_skeleton("monitord", monitord_bpf__elf_bytes);
    if (!obj) fail(1, obj.error().message);
    d.obj = std::move(obj).value();
    log("TCP connects via " + choose_connect_programs(d.obj));
    pinned_links pinned;
    if (!opt.pin_dir.empty()) {
        pinned = check_pin_dir(d.obj, opt);
    } else {
        pinned.xdp.resize(opt.interfaces.size());
        pinned.tc.resize(opt.interfaces.size());
    }
    if (auto r = d.obj.load(); !r) fail(1, r.error().message);
    d.packets = d.obj.map<bpfco::per_cpu_array<monitord_packets>>("packets").value();
    d.counters = d.obj.map<bpfco::per_cpu_array<std::uint64_t>>("counters").value();
    d.lifetime = d.obj.map("lifetime_us").value();
    d.event_drops = d.obj.map("event_drops").value();

    auto v4 = d.obj.map<bpfco::lpm_trie<bpfco::ipv4_prefix_key, std::uint8_t>>("blocked_v4").value();
    auto v6 = d.obj.map<bpfco::lpm_trie<bpfco::ipv6_prefix_key, std::uint8_t>>("blocked_v6").value();
    for (auto& c : opt.blocked) {
        bpfco::result<void> r = boost::outcome_v2::success();
        if (c.family == AF_INET) {
            bpfco::ipv4_prefix_key k{c.prefix_len, {}};
            std::copy_n(c.addr.begin(), 4, k.addr.begin());
            r = v4.insert(k, 1);
        } else {
            r = v6.insert(bpfco::ipv6_prefix_key{c.prefix_len, c.addr}, 1);
        }
        if (!r) fail(1, fmt::format("--block {}: {}", c.to_string(), r.error().message));
        log("blocking " + c.to_string());
    }
    // A reused blocklist becomes this start's --block list: ranges no longer given are removed
    // only now, after the new ones are in, so nothing given twice is ever unblocked.
    auto unblock_others = [&](const auto& trie, int family) {
        auto keys = trie.keys();
        if (!keys) fail(1, keys.error().message);
        for (auto& k : keys.value()) {
            cidr c{family, k.prefixlen, {}};
            std::copy(k.addr.begin(), k.addr.end(), c.addr.begin());
            if (std::find(opt.blocked.begin(), opt.blocked.end(), c) != opt.blocked.end()) continue;
            if (auto r = trie.erase(k); !r) fail(1, r.error().message);
            log("no longer blocking " + c.to_string());
        }
    };
    unblock_others(v4, AF_INET);
    unblock_others(v6, AF_INET6);
    return pinned;
}

// Attaches what this kernel allows, says what is left out and keeps going with the rest.
// Returns whether a TC program went through a netlink filter (which only our exit deletes).
bool attach(monitor_state& d, const options& opt, const std::vector<int>& ifindexes, pinned_links& pinned) {
    std::vector<std::string> left_out;
    auto keep = [&](std::string_view what, const bpfco::program& p, bpfco::result<bpfco::link> l) {
        if (l) {
            d.links.push_back(std::move(l).value());
            if (std::none_of(d.attached.begin(), d.attached.end(), [&](auto& a) { return a.fd() == p.fd(); }))
                d.attached.push_back(p);
        } else {
            left_out.push_back(std::string(what));
            log(fmt::format("left out {}: {}", what, l.error().message));
        }
    };
    // TC through a tcx link where the kernel has one (6.6+): fd-owned like XDP, so nothing stays
    // attached however monitord ends. Only a kernel without tcx (EINVAL: unknown attach type) gets
    // a netlink filter; any other tcx failure is reported, never papered over with a filter that
    // a SIGKILL would leave behind.
    //
    // With --pin-dir, a link pinned by the previous run gets the new program in one step
    // (BPF_LINK_UPDATE): the hook never runs without a program, so no packet goes uncounted or
    // unblocked. A link made now is pinned for the next run. A refused update ends monitord with
    // the previous program still attached and counting.
    const bool pinning = !opt.pin_dir.empty();
    auto swap_or_pin = [&](bpfco::link& old, const bpfco::program& p, std::string_view what, const std::string& path,
                           auto attach_new) {
        if (old) {
            if (auto r = old.update(p); !r) fail(1, fmt::format("{}: updating {}: {}", what, path, r.error().message));
            log(fmt::format("{}: program swapped behind the link pinned at {}", what, path));
            keep(what, p, std::move(old));
            return;
        }
        auto l = attach_new();
        if (l && pinning)
            if (auto r = l.value().pin(path); !r) fail(1, fmt::format("{}: {}", what, r.error().message));
        keep(what, p, std::move(l));
    };
    bool netlink_tc = false;
    const auto xdp = d.obj.program("monitord_xdp").value();
    const auto tc = d.obj.program("monitord_tc_egress").value();
    for (std::size_t i = 0; i < ifindexes.size(); ++i) {
        const auto& name = opt.interfaces[i];
        // TC first: where only a netlink filter is possible, --pin-dir is refused before XDP is pinned.
        swap_or_pin(pinned.tc[i], tc, "TC egress counters on " + name, tc_pin(opt.pin_dir, name), [&] {
            auto l = tc.attach_tcx(name, bpfco::tc_direction::egress);
            if (!l && l.error().code == std::errc::invalid_argument) {
                if (pinning)
                    fail(1, fmt::format("--pin-dir: no tcx on this kernel ({}), and the netlink TC filter used "
                                        "instead cannot be pinned; run without --pin-dir",
                                        l.error().message));
                log(fmt::format("no tcx on this kernel ({}): TC egress on {} through a netlink filter",
                                l.error().message, name));
                l = tc.attach_tc(name, bpfco::tc_direction::egress);
                netlink_tc = netlink_tc || bool(l);
            }
            return l;
        });
        swap_or_pin(pinned.xdp[i], xdp, "XDP packet counters on " + name, xdp_pin(opt.pin_dir, name),
                    [&] { return xdp.attach_xdp(ifindexes[i]); });
    }
    // The process-event programs are attached anew on every start: tracepoint and kprobe links
    // (perf events) cannot have their program swapped, so across a restart these events have a
    // short gap (the packet hooks have none).
    for (auto& p : d.obj.programs()) {
        if (p.name() == "monitord_xdp" || p.name() == "monitord_tc_egress" || p.fd() < 0) continue;
        keep(fmt::format("program {}", p.name()), p, p.attach());
    }
    if (left_out.empty()) log("watching everything");
    return netlink_tc;
}

// Least privilege: everything is loaded, attached, mapped and bound; from here on monitord only
// reads fds it holds. Still one thread here, so the whole process drops.
void become_unprivileged(const resolved& r, bool netlink_tc) {
    if (auto err = drop_privileges(r.user, netlink_tc); !err.empty()) fail(1, "dropping privileges: " + err);
    log(fmt::format("running as {} (uid {}); capabilities dropped {}", r.user.name, r.user.uid,
                    netlink_tc ? "(CAP_NET_ADMIN kept in the permitted set only, to delete the netlink TC "
                                 "filters at exit)"
                               : "(none kept)"));
}

// Runs until SIGINT, SIGTERM or the --duration, then calls close_all (close the streams, the
// listener and every HTTP connection) and lets the coroutines finish; the links detach later (pinned ones stay),
// as the monitor state goes out of scope. Clearing the signal set gives SIGINT and SIGTERM their
// default action back: a second one ends monitord at once.
void run_until_stopped(asio::io_context& io, std::optional<std::chrono::seconds> duration, std::string_view leaving,
                       std::function<void()> close_all) {
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer deadline(io);
    auto stop = [&] {
        boost::system::error_code ignored;
        signals.cancel(ignored);
        signals.clear(ignored);
        deadline.cancel();
        close_all();
    };
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (!ec) log(fmt::format("{} received, {}", sig == SIGINT ? "SIGINT" : "SIGTERM", leaving));
        stop();
    });
    if (duration) {
        deadline.expires_after(*duration);
        deadline.async_wait([&](boost::system::error_code ec) {
            if (!ec) stop();
        });
    }
    io.run();
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything is opened; and a stream whose reader is gone fails its writes (counted)
    // instead of killing monitord.
    std::signal(SIGPIPE, SIG_IGN);
    if (!open_standard_fds()) fail(1, fmt::format("cannot open /dev/null onto a closed standard stream: {}",
                                                  std::strerror(errno)));
    std::vector<std::string_view> args(argv + 1, argv + argc);
    auto parsed = parse_options(args);
    if (!parsed) fail(2, parsed.error().message);
    const options& opt = parsed.value();
    if (opt.help) {
        return write_fully(STDOUT_FILENO, usage()) ? 0 : 1;
    }
    if (opt.detach) {
        // Opened, not loaded: only the maps' layouts are read, to tell monitord's pins from others.
        auto obj = bpfco::object::open_skeleton("monitord", monitord_bpf__elf_bytes);
        if (!obj) fail(1, obj.error().message);
        return detach_pinned(obj.value(), opt.pin_dir);
    }
    const resolved r = check_arguments(opt);
    // Before the io_context: stream coroutines still in it when it is destroyed unregister from it.
    event_hub hub({opt.event_queue, opt.event_stall_timeout});
    asio::io_context io;
    auto server = http_server::bind(io.get_executor(), opt.listen_address, opt.listen_port,
                                    {opt.header_timeout, opt.idle_timeout, opt.max_connections,
                                     http_limits{}.max_header_bytes, opt.max_connections_per_address});
    if (!server) fail(2, server.error().message);

    // Needs CAP_SYS_ADMIN, so before privileges are dropped; the fd keeps statistics on after that.
    std::optional<bpfco::run_time_stats> stats;
    if (opt.bpf_stats) {
        auto enabled = bpfco::run_time_stats::enable();
        if (!enabled) fail(1, fmt::format("--bpf-stats: {}", enabled.error().message));
        stats = std::move(enabled).value();
        log("BPF run-time statistics on (for every program on this host) while monitord runs");
    }

    monitor_state d;
    d.bpf_stats = opt.bpf_stats;
    auto pinned = load(d, opt);
    const bool netlink_tc = attach(d, opt, r.ifindexes, pinned);
    auto events = bpfco::ring_buffer::create(io.get_executor(), d.obj.map("events").value());
    if (!events) fail(1, events.error().message);
    become_unprivileged(r, netlink_tc);

    auto out = std::make_unique<line_output>(STDOUT_FILENO, opt.output_queue);
    d.events = &events.value();
    d.output = out.get();
    d.server = &server.value();
    d.hub = &hub;
    std::unique_ptr<nats_publisher> nats;
    if (!opt.nats.url.empty()) {
        auto started = nats_publisher::start(io.get_executor(), opt.nats);
        if (!started) fail(1, started.error().message);
        nats = std::move(started).value();
        d.nats = nats.get();
    }
    const auto format = opt.json ? output_format::json : output_format::log;
    int status = 0;
    auto give_up = [&] {
        status = 1;
        io.stop();
    };
    supervise(io, "the event printer", [&] { return print_events(d, events.value(), format, *out, hub); }, give_up);
    supervise(io, "the HTTP server",
              [&] {
                  return server.value().serve([&d] { return render_prometheus(d.snapshot()); }, hub,
                                              [](std::string line) { log(line); });
              },
              give_up);
    const auto ep = server.value().local_endpoint();
    log(fmt::format("metrics on http://{0}/metrics, events on http://{0}/events, live page on http://{0}/",
                    host_port(ep.address().to_string(), ep.port())));

    const std::string leaving =
        opt.pin_dir.empty()
            ? "detaching"
            : fmt::format("leaving the XDP/TC programs attached and the links and maps pinned under {} (remove "
                          "them with --pin-dir {} --detach); the process-event programs detach",
                          opt.pin_dir, opt.pin_dir);
    run_until_stopped(io, opt.duration, leaving, [&] {
        events.value().close();
        hub.close();
        server.value().close();
    });
    out->finish();
    if (nats) nats->finish();
    // Deleting netlink TC filters (as `d` goes out of scope) needs CAP_NET_ADMIN again.
    if (netlink_tc)
        if (auto err = raise_net_admin(); !err.empty()) log("cannot delete the TC filters: " + err);
    auto m = d.snapshot();
    log(fmt::format("stopped: {} exec, {} open, {} connect events; {} dropped in the kernel, {} malformed, "
                    "{} lines not printed",
                    m.exec_events, m.open_events, m.connect_events, m.events_dropped, d.malformed, m.output_dropped));
    return status;
}
