// The one owner of a file descriptor: every kernel object bpfco holds by fd is held through this.
#pragma once

#include <unistd.h>

#include <utility>

namespace bpfco {

/// Owns one file descriptor and closes it when destroyed; moves transfer it, copies are deleted.
/// Not synchronised: one owner at a time, like any RAII handle.
class unique_fd {
public:
    /// Owns nothing (-1).
    unique_fd() noexcept = default;
    /// Takes ownership of fd (a negative fd means nothing).
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    /// Takes o's fd; o then owns nothing.
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    /// Closes the fd owned, then takes o's.
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    /// The fd, still owned; -1 when nothing is.
    int get() const noexcept { return fd_; }
    /// Whether an fd is owned.
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives the fd up without closing it: the caller closes it.
    int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the fd owned (errors from close are ignored: the fd is gone either way) and owns fd.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

}  // namespace bpfco
