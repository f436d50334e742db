// monitord's two streams, neither of which can end it. Event lines go to stdout without ever
// blocking the io_context: a bounded queue drained by a writer thread. A stalled reader of stdout
// (a full pipe, a stopped terminal) costs lines, counted, and never the metrics endpoint or the
// signal handling. Log lines go to stderr at once; one that cannot be written (stderr closed, its
// reader gone) is counted, never thrown.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

namespace monitord {

/// Opens /dev/null onto each of fds 0-2 that is closed, so that no socket, eventfd or file opened
/// later takes a standard stream's number (and gets event or log lines written into it). Call
/// first in main. Returns false when one cannot be opened.
bool open_standard_fds() noexcept;

/// Writes all of `data` to fd, retrying after EINTR. False when the fd fails (EPIPE with SIGPIPE
/// ignored, EBADF, EIO...); never throws.
bool write_fully(int fd, std::string_view data) noexcept;

/// Writes "monitord: <line>\n" to stderr, or counts the line as dropped. Safe from any thread.
void log_line(std::string_view line) noexcept;
/// Log lines that could not be written so far.
std::uint64_t log_dropped() noexcept;

/// What an exception says (its what(), or that it is not a std::exception), for a log line.
std::string exception_text(std::exception_ptr e);

class line_output {
public:
    /// Writes to fd from a thread started here, with every signal blocked in it; at most
    /// max_lines lines wait at a time.
    line_output(int fd, std::size_t max_lines);
    /// Stops taking lines, waits up to flush_timeout for the queued ones to be written and counts
    /// the rest as dropped. The writer (possibly stuck in write()) is left to the process's exit.
    void finish();
    ~line_output() { finish(); }
    line_output(const line_output&) = delete;
    line_output& operator=(const line_output&) = delete;

    /// Queues one line (a '\n' is added), or drops and counts it when the queue is full.
    void push(std::string_view line);
    /// Lines dropped so far: the queue was full, or stdout failed (closed pipe).
    std::uint64_t dropped() const;

    static constexpr std::chrono::milliseconds flush_timeout{100};

    struct state;

private:
    std::shared_ptr<state> s_;
};

}  // namespace monitord
