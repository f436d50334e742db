// Many GET /events subscribers read as fast as one thread can, for test_monitord_events.py and
// the stream bench: Python cannot take 100 streams of 20,000 events/s each. Each stream is only
// tallied: its SSE ids checked to increase, counted, and the drops it was told of summed.
//
// usage: event_readers PORT COUNT QUERY
// Connects COUNT subscribers to 127.0.0.1:PORT/events?QUERY, prints "ready", then reads. A number
// on stdin is the count of events each subscriber is due: once every stream has received or been
// told of that many (or 60 s later, or at EOF on stdin with no number), prints one line per
// stream, "received told out_of_order eof", then "last S": the seconds from "ready" to the last
// byte received (the bench's time base), and exits.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct stream {
    int fd = -1;
    std::string pending;  // an incomplete line
    bool header_done = false, eof = false;
    bool dropped_event = false;  // the last "event:" line was "event: dropped"
    std::uint64_t last_id = 0, received = 0, told = 0, out_of_order = 0;

    void line(std::string_view l) {
        if (!header_done) {
            if (l == "\r") header_done = true;
            return;
        }
        if (l.starts_with("id: ")) {
            auto id = std::strtoull(std::string(l.substr(4)).c_str(), nullptr, 10);
            out_of_order += id <= last_id;
            last_id = id;
            ++received;
        } else if (l == "event: dropped") {
            dropped_event = true;
        } else if (dropped_event && l.starts_with("data: {\"dropped\":")) {
            told += std::strtoull(std::string(l.substr(17)).c_str(), nullptr, 10);
            dropped_event = false;
        }
    }

    void feed(const char* p, std::size_t n) {
        const char* end = p + n;
        while (p < end) {
            auto nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
            if (!nl) {
                pending.append(p, end);
                return;
            }
            if (pending.empty()) {
                line({p, static_cast<std::size_t>(nl - p)});
            } else {
                pending.append(p, nl);
                line(pending);
                pending.clear();
            }
            p = nl + 1;
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: event_readers PORT COUNT QUERY\n");
        return 2;
    }
    const int port = std::atoi(argv[1]), count = std::atoi(argv[2]);
    const std::string request = std::string("GET /events?") + argv[3] + " HTTP/1.1\r\nHost: test\r\n\r\n";
    std::vector<stream> streams(static_cast<std::size_t>(count));
    for (auto& s : streams) {
        s.fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::write(s.fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
            std::perror("event_readers: connect");
            return 1;
        }
    }
    const auto ready = std::chrono::steady_clock::now();
    auto last_data = ready;
    std::printf("ready\n");
    std::fflush(stdout);

    std::vector<pollfd> fds;
    for (auto& s : streams) fds.push_back({s.fd, POLLIN, 0});
    fds.push_back({STDIN_FILENO, POLLIN, 0});
    std::int64_t due = -1;
    auto deadline = std::chrono::steady_clock::time_point::max();
    std::vector<char> buf(1 << 18);
    for (;;) {
        if (due >= 0) {
            const bool done = std::chrono::steady_clock::now() > deadline;
            bool all = true;
            for (auto& s : streams) all = all && (s.eof || s.received + s.told >= static_cast<std::uint64_t>(due));
            if (done || all) break;
        }
        if (::poll(fds.data(), fds.size(), 200) < 0) continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            auto n = ::read(fds[i].fd, buf.data(), buf.size());
            if (fds[i].fd == STDIN_FILENO) {
                due = n > 0 ? std::atoll(std::string(buf.data(), static_cast<std::size_t>(n)).c_str()) : 0;
                deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
                fds[i].fd = -1;
                continue;
            }
            if (n <= 0) {
                streams[i].eof = true;
                fds[i].fd = -1;
                continue;
            }
            streams[i].feed(buf.data(), static_cast<std::size_t>(n));
            last_data = std::chrono::steady_clock::now();
        }
    }
    for (auto& s : streams)
        std::printf("%llu %llu %llu %d\n", static_cast<unsigned long long>(s.received),
                    static_cast<unsigned long long>(s.told), static_cast<unsigned long long>(s.out_of_order),
                    s.eof ? 1 : 0);
    std::printf("last %.3f\n", std::chrono::duration<double>(last_data - ready).count());
    return 0;
}
