// libbpf reports details (verifier logs, CO-RE failures, missing tracepoints) only through its
// print callback. We capture them per thread while a call is in flight, so that errors can carry
// them, and keep libbpf quiet otherwise (BPFCO_DEBUG=1 lets everything through to stderr).
#pragma once

#include <cerrno>
#include <string>
#include <string_view>

namespace bpfco::detail {

class libbpf_capture {
public:
    libbpf_capture();
    ~libbpf_capture();
    libbpf_capture(const libbpf_capture&) = delete;
    libbpf_capture& operator=(const libbpf_capture&) = delete;

    const std::string& text() const noexcept { return text_; }
    /// The verifier log's last lines when libbpf printed one, else libbpf's last lines.
    std::string tail(std::size_t max_lines = 12) const;
    void append(const char* s, std::size_t n);

private:
    std::string text_;
    libbpf_capture* previous_;
};

/// Writes one line to stderr when BPFCO_DEBUG is set (with libbpf's own log).
void debug_log(std::string_view line);

/// strerror that also knows libbpf's own codes (LIBBPF_ERRNO__FORMAT = 4001, ...).
std::string errno_text(int errnum);
/// libbpf's own codes have no std::errc: report them as EINVAL, keeping the text.
inline int portable_errno(int errnum) { return errnum >= 4000 && errnum < 4100 ? EINVAL : errnum; }

}  // namespace bpfco::detail
