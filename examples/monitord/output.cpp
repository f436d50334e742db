#include "output.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace monitord {

namespace {
std::atomic<std::uint64_t> lost_log_lines{0};
}  // namespace

bool open_standard_fds() noexcept {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        // open() takes the lowest free number, which is this one: the lower ones are open.
        const int null = ::open("/dev/null", O_RDWR);
        if (null != fd) {
            if (null >= 0) ::close(null);
            return false;
        }
    }
    return true;
}

bool write_fully(int fd, std::string_view data) noexcept {
    while (!data.empty()) {
        auto n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

void log_line(std::string_view line) noexcept {
    // One write per line, so that lines from several threads never interleave.
    static constexpr std::string_view prefix = "monitord: ";
    bool written = false;
    try {
        std::string text;
        text.reserve(prefix.size() + line.size() + 1);
        text.append(prefix).append(line) += '\n';
        written = write_fully(STDERR_FILENO, text);
    } catch (...) {  // std::bad_alloc: the line is lost like one stderr refused
    }
    if (!written) ++lost_log_lines;
}

std::uint64_t log_dropped() noexcept { return lost_log_lines.load(); }

std::string exception_text(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

struct line_output::state {
    int fd;
    std::size_t max_lines;
    std::mutex m;
    std::condition_variable cv;
    std::string pending;  // guarded by m
    std::size_t pending_lines = 0;
    bool writing = false;  // the writer holds a batch outside the lock
    bool stop = false;
    bool broken = false;  // stdout failed: everything from now on is dropped
    std::atomic<std::uint64_t> dropped{0};

    void run() {
        std::unique_lock lock(m);
        for (;;) {
            cv.wait(lock, [&] { return stop || !pending.empty(); });
            if (pending.empty()) return;
            std::string batch;
            batch.swap(pending);
            auto lines = pending_lines;
            pending_lines = 0;
            writing = true;
            lock.unlock();
            bool ok = write_fully(fd, batch);
            lock.lock();
            writing = false;
            if (!ok) {
                broken = true;
                dropped += lines;  // not all of them were lost, but which ones is unknown
            }
            cv.notify_all();
        }
    }
};

line_output::line_output(int fd, std::size_t max_lines) : s_(std::make_shared<state>()) {
    s_->fd = fd;
    s_->max_lines = max_lines;
    // Signals go to the io_context's thread, never to a writer that may be stuck in write().
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    std::thread([s = s_] { s->run(); }).detach();
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void line_output::finish() {
    std::unique_lock lock(s_->m);
    s_->stop = true;
    s_->cv.notify_all();
    // Detached, and holding its own reference to the state: a writer still blocked when the
    // process exits is simply ended with it.
    s_->cv.wait_for(lock, flush_timeout, [&] { return s_->pending.empty() && !s_->writing; });
    s_->dropped += s_->pending_lines;
    s_->pending.clear();
    s_->pending_lines = 0;
}

void line_output::push(std::string_view line) {
    {
        std::lock_guard lock(s_->m);
        if (!s_->broken && !s_->stop && s_->pending_lines < s_->max_lines) {
            s_->pending.append(line);
            s_->pending += '\n';
            if (s_->pending_lines++ == 0) s_->cv.notify_one();
            return;
        }
    }
    ++s_->dropped;
}

std::uint64_t line_output::dropped() const { return s_->dropped.load(); }

}  // namespace monitord
