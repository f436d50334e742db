#include "metrics.hpp"

#include <fmt/format.h>

namespace monitord {

namespace {
constexpr const char* protocol_names[MONITORD_PROTOS] = {"tcp", "udp", "icmp", "other"};
constexpr const char* direction_names[MONITORD_DIRECTIONS] = {"ingress", "egress"};

void header(std::string& out, const char* name, const char* type, const char* help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}
}  // namespace

std::string render_prometheus(const metrics& m) {
    std::string out;
    auto put = [&](const char* name, auto labels, std::uint64_t v) {
        fmt::format_to(std::back_inserter(out), "{}{} {}\n", name, labels, v);
    };
    auto by_label = [&](const char* name, const char* help, std::uint64_t monitord_packets::*field) {
        header(out, name, "counter", help);
        for (int d = 0; d < MONITORD_DIRECTIONS; ++d)
            for (int p = 0; p < MONITORD_PROTOS; ++p)
                put(name, fmt::format("{{direction=\"{}\",protocol=\"{}\"}}", direction_names[d], protocol_names[p]),
                    m.packets[d][p].*field);
    };
    by_label("monitord_packets_total", "Packets seen by direction and IP protocol.", &monitord_packets::packets);
    by_label("monitord_bytes_total", "Bytes seen by direction and IP protocol.", &monitord_packets::bytes);
    header(out, "monitord_blocked_packets_total", "counter", "Packets dropped by the --block list.");
    put("monitord_blocked_packets_total", "", m.blocked_packets);
    header(out, "monitord_events_total", "counter", "Process events received, by kind.");
    put("monitord_events_total", "{kind=\"exec\"}", m.exec_events);
    put("monitord_events_total", "{kind=\"open\"}", m.open_events);
    put("monitord_events_total", "{kind=\"connect\"}", m.connect_events);
    header(out, "monitord_events_dropped_total", "counter",
           "Events the kernel side could not queue because the ring buffer was full.");
    put("monitord_events_dropped_total", "", m.events_dropped);
    header(out, "monitord_output_dropped_total", "counter",
           "Event lines not printed because stdout did not keep up (its queue was full) or failed.");
    put("monitord_output_dropped_total", "", m.output_dropped);
    header(out, "monitord_log_dropped_total", "counter",
           "Log lines not written because stderr failed (closed, or its reader gone).");
    put("monitord_log_dropped_total", "", m.log_dropped);
    header(out, "monitord_record_type_mismatches_total", "counter",
           "Event records from the ring buffer that did not fit the type they were read as.");
    put("monitord_record_type_mismatches_total", "", m.record_type_mismatches);
    header(out, "monitord_http_refused_total", "counter",
           "HTTP connections refused or cut: over the connection cap or the per-address cap, header timeout, "
           "bad request, no fds.");
    put("monitord_http_refused_total", "{reason=\"over_cap\"}", m.http.over_cap);
    put("monitord_http_refused_total", "{reason=\"over_address_cap\"}", m.http.over_address_cap);
    put("monitord_http_refused_total", "{reason=\"header_timeout\"}", m.http.header_timeout);
    put("monitord_http_refused_total", "{reason=\"bad_request\"}", m.http.bad_request);
    put("monitord_http_refused_total", "{reason=\"no_fds\"}", m.http.no_fds);
    header(out, "monitord_event_subscribers", "gauge", "Clients streaming GET /events now.");
    put("monitord_event_subscribers", "", m.stream.subscribers);
    header(out, "monitord_event_stream_sent_total", "counter", "Events written to GET /events subscribers.");
    put("monitord_event_stream_sent_total", "", m.stream.sent);
    header(out, "monitord_event_stream_dropped_total", "counter",
           "Events a GET /events subscriber matched but did not get: its queue was full (it was told), or its "
           "connection ended with them queued.");
    put("monitord_event_stream_dropped_total", "{reason=\"queue_full\"}", m.stream.dropped_queue_full);
    put("monitord_event_stream_dropped_total", "{reason=\"disconnected\"}", m.stream.dropped_disconnected);
    header(out, "monitord_event_subscribers_stalled_total", "counter",
           "GET /events subscribers disconnected for keeping their queue full past --event-stall-timeout.");
    put("monitord_event_subscribers_stalled_total", "", m.stream.stalled);

    header(out, "monitord_process_lifetime_seconds", "histogram", "Time from exec to exit of processes.");
    // A fixed bucket set (series must not come and go between scrapes): log2 slot k counts
    // lifetimes below 2^k microseconds; 2^40 us is 12 days, the rest goes to +Inf.
    constexpr std::size_t shown = 41;
    std::uint64_t cumulative = 0;
    for (std::size_t k = 0; k < shown; ++k) {
        if (k < m.lifetime_us.size()) cumulative += m.lifetime_us.counts()[k];
        put("monitord_process_lifetime_seconds_bucket",
            fmt::format("{{le=\"{:g}\"}}", static_cast<double>(std::uint64_t(1) << k) / 1e6), cumulative);
    }
    cumulative = m.lifetime_us.total();
    put("monitord_process_lifetime_seconds_bucket", "{le=\"+Inf\"}", cumulative);
    fmt::format_to(std::back_inserter(out), "monitord_process_lifetime_seconds_sum {:g}\n",
                   static_cast<double>(m.lifetime_sum_us) / 1e6);
    put("monitord_process_lifetime_seconds_count", "", cumulative);

    if (!m.programs.empty()) {
        header(out, "monitord_bpf_program_runs_total", "counter",
               "Runs of each of monitord's BPF programs, counted while run-time statistics are on.");
        for (auto& p : m.programs)
            put("monitord_bpf_program_runs_total", fmt::format("{{program=\"{}\"}}", p.program), p.runs);
        header(out, "monitord_bpf_program_run_seconds_total", "counter",
               "CPU time spent in each of monitord's BPF programs, counted while run-time statistics are on.");
        // Shortest round-trip form, not {:g}'s six digits, which would make a growing counter stall.
        for (auto& p : m.programs)
            fmt::format_to(std::back_inserter(out), "monitord_bpf_program_run_seconds_total{{program=\"{}\"}} {}\n",
                           p.program, static_cast<double>(p.run_time.count()) / 1e9);
    }
    if (m.nats) {
        const auto& n = *m.nats;
        header(out, "monitord_nats_published_total", "counter",
               "Events published to NATS: stored by JetStream (acknowledged, not as a duplicate), or handed to the "
               "connection (core NATS).");
        put("monitord_nats_published_total", "", n.published);
        header(out, "monitord_nats_resent_total", "counter",
               "Events sent to NATS again after a lost or failed acknowledgement.");
        put("monitord_nats_resent_total", "", n.resent);
        header(out, "monitord_nats_duplicates_total", "counter",
               "Resent events JetStream had already stored, by message id (not stored twice).");
        put("monitord_nats_duplicates_total", "", n.duplicates);
        header(out, "monitord_nats_dropped_total", "counter",
               "Events not published to NATS: the queue was full, or they were unpublished at exit.");
        put("monitord_nats_dropped_total", "{reason=\"queue_full\"}", n.dropped_queue_full);
        put("monitord_nats_dropped_total", "{reason=\"exit\"}", n.dropped_at_exit);
        header(out, "monitord_nats_queued", "gauge", "Events waiting to be published or acknowledged.");
        put("monitord_nats_queued", "", n.queued);
        header(out, "monitord_nats_connected", "gauge", "1 while connected to a NATS server.");
        put("monitord_nats_connected", "", n.connected ? 1 : 0);
        header(out, "monitord_nats_reconnects_total", "counter", "Connections to NATS made again after one was lost.");
        put("monitord_nats_reconnects_total", "", n.reconnects);
    }
    return out;
}

}  // namespace monitord
