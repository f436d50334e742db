#include "support.hpp"

#include "event_hub.hpp"
#include "events.hpp"
#include "monitord.bpf.types.hpp"
#include "monitord_events.h"
#include "metrics.hpp"
#include "options.hpp"
#include "output.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>
#include <vector>

using namespace monitord;

namespace {
bpfco::result<options> parse(std::vector<std::string_view> args) { return parse_options(args); }

template <class T>
std::span<const std::byte> bytes_of(const T& v) {
    return {reinterpret_cast<const std::byte*>(&v), sizeof v};
}
}  // namespace

TEST_CASE("CIDR ranges parse, normalise, and bad ones name the problem") {
    auto a = parse_cidr("10.1.2.3/8").value();
    CHECK(a.family == AF_INET);
    CHECK(a.prefix_len == 8);
    CHECK(a.to_string() == "10.0.0.0/8");
    CHECK(parse_cidr("192.0.2.7").value().to_string() == "192.0.2.7/32");
    CHECK(parse_cidr("2001:db8::1/32").value().to_string() == "2001:db8::/32");
    CHECK(parse_cidr("::1").value().prefix_len == 128);
    CHECK(parse_cidr("0.0.0.0/0").value().to_string() == "0.0.0.0/0");
    for (auto bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "nonsense", "", "::1/129", "1.2.3.4/-1", "1.2.3.4/8x"}) {
        auto r = parse_cidr(bad);
        REQUIRE_MESSAGE(r.has_error(), bad);
        MESSAGE(r.error().message);
        CHECK(r.error().message.find(bad) != std::string::npos);
    }
}

TEST_CASE("command line: defaults, values, and clear errors") {
    auto d = parse({}).value();
    CHECK(d.interfaces == std::vector<std::string>{"lo"});
    CHECK(d.listen_address == "127.0.0.1");
    CHECK(d.listen_port == 9435);
    CHECK_FALSE(d.json);
    CHECK_FALSE(d.duration);

    auto o = parse({"--interface", "veth0", "--interface=eth1", "--block", "10.0.0.0/8", "--block=::1",
                    "--listen", "[::1]:9999", "--json", "--duration", "5"})
                 .value();
    CHECK(o.interfaces == std::vector<std::string>{"veth0", "eth1"});
    CHECK(o.blocked.size() == 2);
    CHECK(o.listen_address == "::1");
    CHECK(o.listen_port == 9999);
    CHECK(o.json);
    CHECK(o.duration == std::chrono::seconds(5));

    for (auto args : std::vector<std::vector<std::string_view>>{
             {"--block", "300.1.1.1/8"}, {"--listen", "localhost"}, {"--listen", "127.0.0.1:99999"},
             {"--duration", "soon"}, {"--bogus"}, {"--interface"}, {"--interface", "a-name-longer-than-15"},
             {"--json=yes"}, {"--interface", "lo", "--interface=lo"}, {"--header-timeout", "0"},
             {"--idle-timeout", "forever"}, {"--max-connections", "0"}, {"--output-queue", "-1"}, {"--user="}}) {
        auto r = parse(args);
        REQUIRE(r.has_error());
        MESSAGE(r.error().message);
    }
}

TEST_CASE("command line: HTTP limits, output queue, user; URLs and loopback") {
    auto d = parse({}).value();
    CHECK(d.header_timeout == std::chrono::seconds(5));
    CHECK(d.idle_timeout == std::chrono::seconds(15));
    CHECK(d.max_connections == 64);
    CHECK(d.user == "nobody");
    auto o = parse({"--header-timeout", "0.25", "--idle-timeout=2", "--max-connections", "3", "--output-queue", "10",
                    "--user", "daemon"})
                 .value();
    CHECK(o.header_timeout == std::chrono::milliseconds(250));
    CHECK(o.idle_timeout == std::chrono::seconds(2));
    CHECK(o.max_connections == 3);
    CHECK(o.output_queue == 10);
    CHECK(o.user == "daemon");
    auto dup = parse({"--interface", "lo", "--interface", "lo"});
    REQUIRE(dup.has_error());
    CHECK(dup.error().message == "--interface lo: given twice");

    CHECK(host_port("127.0.0.1", 9435) == "127.0.0.1:9435");
    CHECK(host_port("::", 9435) == "[::]:9435");
    CHECK(host_port("::1", 80) == "[::1]:80");
    for (auto a : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) CHECK_MESSAGE(is_loopback(a), a);
    for (auto a : {"0.0.0.0", "::", "10.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "nonsense"})
        CHECK_MESSAGE(!is_loopback(a), a);
}

TEST_CASE("command line: NATS publishing (docs/fleet.md)") {
    auto d = parse({}).value();
    CHECK(d.nats.url.empty());
    CHECK(!d.nats.host.empty());
    CHECK(d.nats.host.find('.') == std::string::npos);
    CHECK(d.nats.queue == 65536);
    auto o = parse({"--nats", "nats://a:4222,nats://b:4222", "--nats-stream", "EVENTS", "--host", "web1",
                    "--nats-queue", "100"})
                 .value();
    CHECK(o.nats.url == "nats://a:4222,nats://b:4222");
    CHECK(o.nats.stream == "EVENTS");
    CHECK(o.nats.host == "web1");
    CHECK(o.nats.queue == 100);
    auto error = [](std::vector<std::string_view> args) { return parse(args).error().message; };
    const std::string urls = "expected nats://HOST:PORT[,nats://HOST:PORT...]";
    CHECK(error({"--nats", "http://a:4222"}) == "--nats 'http://a:4222': " + urls);
    CHECK(error({"--nats", "nats://a,"}) == "--nats 'nats://a,': " + urls);
    const std::string names = "expected a name without dots, wildcards or spaces";
    CHECK(error({"--nats", "nats://a", "--host", "a.b"}) == "--host 'a.b': " + names);
    CHECK(error({"--nats", "nats://a", "--host", "*"}) == "--host '*': " + names);
    CHECK(error({"--nats-stream", "S"}) == "--nats-stream needs --nats URL");
    CHECK(error({"--nats", "nats://a", "--nats-stream", "a.b"}) ==
          "--nats-stream 'a.b': expected a stream name (no dots, wildcards or spaces)");
}

TEST_CASE("Prometheus text: NATS series only with --nats") {
    metrics m;
    CHECK(render_prometheus(m).find("monitord_nats_") == std::string::npos);
    m.nats = nats_metrics{};
    m.nats->published = 5;
    m.nats->dropped_queue_full = 2;
    m.nats->connected = true;
    auto text = render_prometheus(m);
    CHECK(text.find("monitord_nats_published_total 5\n") != std::string::npos);
    CHECK(text.find("monitord_nats_dropped_total{reason=\"queue_full\"} 2\n") != std::string::npos);
    CHECK(text.find("monitord_nats_dropped_total{reason=\"exit\"} 0\n") != std::string::npos);
    CHECK(text.find("monitord_nats_connected 1\n") != std::string::npos);
}

TEST_CASE("Prometheus text: counters by label and a cumulative histogram") {
    metrics m;
    m.packets[MONITORD_INGRESS][MONITORD_UDP] = {7, 700};
    m.blocked_packets = 3;
    m.exec_events = 5;
    std::vector<std::uint64_t> slots(MONITORD_LIFETIME_SLOTS);
    slots[0] = 1;  // 0 us
    slots[4] = 2;  // 8..15 us
    m.lifetime_us = bpfco::histogram::log2(slots);
    m.lifetime_sum_us = 20;
    auto text = render_prometheus(m);
    CHECK(text.find("monitord_packets_total{direction=\"ingress\",protocol=\"udp\"} 7\n") != std::string::npos);
    CHECK(text.find("monitord_bytes_total{direction=\"ingress\",protocol=\"udp\"} 700\n") != std::string::npos);
    CHECK(text.find("monitord_blocked_packets_total 3\n") != std::string::npos);
    CHECK(text.find("monitord_output_dropped_total 0\n") != std::string::npos);
    m.http.over_cap = 4;
    text = render_prometheus(m);
    CHECK(text.find("monitord_http_refused_total{reason=\"over_cap\"} 4\n") != std::string::npos);
    CHECK(text.find("monitord_http_refused_total{reason=\"no_fds\"} 0\n") != std::string::npos);
    CHECK(text.find("monitord_events_total{kind=\"exec\"} 5\n") != std::string::npos);
    CHECK(text.find("monitord_process_lifetime_seconds_bucket{le=\"1e-06\"} 1\n") != std::string::npos);
    CHECK(text.find("monitord_process_lifetime_seconds_bucket{le=\"8e-06\"} 1\n") != std::string::npos);
    CHECK(text.find("monitord_process_lifetime_seconds_bucket{le=\"1.6e-05\"} 3\n") != std::string::npos);
    CHECK(text.find("monitord_process_lifetime_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("monitord_process_lifetime_seconds_count 3\n") != std::string::npos);
    CHECK(text.find("monitord_process_lifetime_seconds_sum 2e-05\n") != std::string::npos);
}

TEST_CASE("events format as log and JSON lines; short or unknown records are refused") {
    monitord_exec e{};
    e.kind = MONITORD_EXEC;
    e.pid = 42;
    e.ppid = 1;
    std::strcpy(e.comm, "tr\"ue");
    std::strcpy(e.filename, "/bin/true");
    CHECK(format_event(bytes_of(e), output_format::json).value() ==
          R"({"event":"exec","pid":42,"ppid":1,"uid":0,"comm":"tr\"ue","filename":"/bin/true"})");
    CHECK(format_event(bytes_of(e), output_format::log).value().find("filename=/bin/true") != std::string::npos);
    CHECK_FALSE(format_event(bytes_of(e).first(20), output_format::json));

    monitord_connect c{};
    c.kind = MONITORD_CONNECT;
    c.family = AF_INET;
    c.sport = 40000;
    c.dport = 80;
    ::inet_pton(AF_INET, "127.0.0.1", c.daddr);
    auto line = format_event(bytes_of(c), output_format::log).value();
    CHECK(line.find("-> 127.0.0.1:80 (via tracepoint)") != std::string::npos);

    std::uint32_t unknown = 99;
    CHECK_FALSE(format_event(bytes_of(unknown), output_format::log));
    CHECK_FALSE(format_event({}, output_format::log));
}

TEST_CASE("log lines: a forged newline, quotes or spaces in a name stay inside one escaped field") {
    monitord_exec e{};
    e.kind = MONITORD_EXEC;
    e.pid = 7;
    std::strcpy(e.comm, "cat");
    std::strcpy(e.filename, "/tmp/x\nexec    pid=1 ppid=0 uid=0 comm=init filename=/bin/FORGED");
    auto line = format_event(bytes_of(e), output_format::log).value();
    MESSAGE(line);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line == R"(exec    pid=7 ppid=0 uid=0 comm=cat filename="/tmp/x\nexec    pid=1 ppid=0 uid=0 comm=init )"
                  R"(filename=/bin/FORGED")");

    monitord_open o{};
    o.kind = MONITORD_OPEN;
    std::strcpy(o.comm, "a\"b\\c\x1b");
    std::strcpy(o.path, "/plain/path");
    line = format_event(bytes_of(o), output_format::log).value();
    CHECK(line.find(R"(comm="a\"b\\c\x1b" path=/plain/path )") != std::string::npos);
    std::strcpy(o.path, "/a\xc2\x9b""31mred/\xc3\xa9t\xc3\xa9");  // C1 CSI escaped; UTF-8 letters kept
    line = format_event(bytes_of(o), output_format::log).value();
    CHECK(line.find(R"(path="/a\u{009b}31mred/)" "\xc3\xa9t\xc3\xa9\" ") != std::string::npos);
    std::strcpy(o.comm, "");
    CHECK(format_event(bytes_of(o), output_format::log).value().find(R"(comm="" )") != std::string::npos);
}

// Names that forge lines or fields for some reader: each comes out escaped in both formats, and the
// JSON form holds only valid UTF-8.
TEST_CASE("names with invalid UTF-8, controls, line and paragraph separators and bidi controls") {
    monitord_open o{};
    o.kind = MONITORD_OPEN;
    std::strcpy(o.comm, "x");
    const auto json_path = [&](const char* path) {
        std::strcpy(o.path, path);
        auto line = format_event(bytes_of(o), output_format::json).value();
        const auto at = line.find("\"path\":") + 7;
        return line.substr(at, line.find(",\"flags\"") - at);
    };
    const auto log_path = [&](const char* path) {
        std::strcpy(o.path, path);
        auto line = format_event(bytes_of(o), output_format::log).value();
        const auto at = line.find("path=") + 5;
        return line.substr(at, line.find(" flags=") - at);
    };
    CHECK(json_path("/a\xff\xfe" "b") == R"("/a\ufffd\ufffdb")");          // invalid bytes
    CHECK(json_path("/\xc2\x9b[31m\x7f") == R"("/\u009b[31m\u007f")");  // C1 CSI, DEL
    CHECK(json_path("/a\xe2\x80\xa8" "exec") == R"("/a\u2028exec")");       // U+2028
    CHECK(json_path("/a\xe2\x80\xa9" "b") == R"("/a\u2029b")");             // U+2029
    CHECK(json_path("/\xe2\x80\xaegpj.exe") == R"("/\u202egpj.exe")");   // U+202E
    CHECK(json_path("/\xc0\xaf") == R"("/\ufffd\ufffd")");              // overlong '/'
    CHECK(json_path("/\xc3\xa9") == "\"/\xc3\xa9\"");                    // letters stay
    CHECK(log_path("/a\xff") == R"("/a\xff")");
    CHECK(log_path("/a\xe2\x80\xa8" "b") == R"("/a\u{2028}b")");
    CHECK(log_path("/\xe2\x81\xa6x") == R"("/\u{2066}x")");                // U+2066
    CHECK(log_path("/\xe2\x80\xaex") == R"("/\u{202e}x")");
    CHECK(log_path("/\xc3\xa9") == "/\xc3\xa9");

    // A path that filled its array is cut on a character boundary and marked.
    std::string full(MONITORD_PATH_LEN - 3, 'a');
    full += "\xc3\xa9";  // the last character whole: 255 bytes
    CHECK(json_path(full.c_str()) == "\"" + full + "\u2026\"");
    std::string split(MONITORD_PATH_LEN - 2, 'a');
    split += "\xe2";  // a lead byte whose sequence was cut off
    CHECK(json_path(split.c_str()) == "\"" + split.substr(0, split.size() - 1) + "\u2026\"");
    CHECK(log_path(split.c_str()) == split.substr(0, split.size() - 1) + "\u2026");
}

TEST_CASE("line output: a stdout nobody reads costs counted lines, never a blocked caller") {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    const std::string line(1000, 'x');
    {
        line_output out(p[1], 8);
        // 64 KiB of pipe, then the writer blocks in write(); pushes keep returning at once.
        for (int i = 0; i < 1000; ++i) out.push(line);
        out.finish();
        MESSAGE("dropped " << out.dropped() << " of 1000");
        CHECK(out.dropped() > 900);
        CHECK(out.dropped() <= 1000);
        out.push(line);  // after finish(): dropped too
        CHECK(out.dropped() <= 1001);
    }
    ::close(p[0]);  // the stuck writer now fails with EPIPE (SIGPIPE is blocked in its thread)
    ::close(p[1]);
}

TEST_CASE("GET /events query: filters parsed and percent-decoded, a bad one named; the stream options") {
    auto r =
        parse_event_request("kind=exec,connect&pid=42&uid=0&comm=a+b%2Fc&path_prefix=%2Fetc%2F&format=ndjson").value();
    CHECK(r.kinds == ((1u << MONITORD_EXEC) | (1u << MONITORD_CONNECT)));
    CHECK(r.pid == 42u);
    CHECK(r.uid == 0u);
    CHECK(r.comm == "a b/c");
    CHECK(r.path_prefix == "/etc/");
    CHECK(r.ndjson);
    CHECK(parse_event_request("").value().kinds == 0);
    for (auto [query, message] : std::vector<std::pair<std::string_view, std::string_view>>{
             {"kind=exe", "kind 'exe': expected exec, open or connect (comma-separated)"},
             {"pid=", "pid '': expected a number"},
             {"uid=99999999999", "uid '99999999999': expected a number"},
             {"comm=0123456789abcdef", "comm '0123456789abcdef': expected 1 to 15 bytes (a task's comm)"},
             {"comm=%4", "comm '%4': bad percent-encoding"},
             {"format=json", "format 'json': expected sse or ndjson"},
             {"kinds=exec", "unknown parameter 'kinds': expected kind, pid, uid, comm, path_prefix or format"}}) {
        auto bad = parse_event_request(query);
        REQUIRE(bad.has_error());
        CHECK(bad.error().message == message);
    }
    auto d = parse({}).value();
    CHECK(d.max_connections_per_address == 8);
    CHECK(d.event_queue == 1024);
    CHECK(d.event_stall_timeout == std::chrono::seconds(30));
    auto o =
        parse({"--max-connections-per-address", "200", "--event-queue", "16", "--event-stall-timeout", "0.5"}).value();
    CHECK(o.max_connections_per_address == 200);
    CHECK(o.event_queue == 16);
    CHECK(o.event_stall_timeout == std::chrono::milliseconds(500));
    CHECK(parse({"--event-queue", "0"}).has_error());
}
