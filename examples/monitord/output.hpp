// Event lines to stdout without ever blocking the io_context: a bounded queue drained by a writer
// thread. A stalled reader of stdout (a full pipe, a stopped terminal) costs lines, counted, and
// never the metrics endpoint or the signal handling.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace monitord {

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
