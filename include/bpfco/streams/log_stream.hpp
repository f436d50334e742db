// The user side of <bpfco/log.bpf.h>: reads the compact log records a BPF object writes and
// formats them with fmt, in the order BPF wrote them, counting what did not fit the ring.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/loader/object.hpp>
#include <bpfco/streams/ring_buffer.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace bpfco {

/// A record's severity, as given to bpfco_log() (BPFCO_LOG_ERROR ... BPFCO_LOG_TRACE); the values
/// are those the BPF side writes.
enum class log_level : std::uint8_t { error = 1, warn = 2, info = 3, debug = 4, trace = 5 };

/// "ERROR", "WARN", "INFO", "DEBUG", "TRACE".
std::string_view to_string(log_level l) noexcept;

/// One bpfco_log() call, formatted.
struct log_record {
    std::uint64_t timestamp_ns = 0;  ///< bpf_ktime_get_ns() when logged (CLOCK_MONOTONIC)
    log_level level = log_level::info;  ///< as logged; error for a record of the wrong size
    std::string text;  ///< formatted; a record that cannot be formatted says why instead
};

/// The format strings of an object's bpfco_log() call sites, by id.
class log_formats {
public:
    /// Reads them from a loaded object's ".rodata.bpfco_log" section.
    static result<log_formats> from_object(const object& obj);
    /// Parses the section's bytes ("id\x1f" "format" entries, NUL-separated).
    static log_formats parse(std::span<const std::byte> section);
    /// Formats one raw record (a struct bpfco_log_record).
    log_record format(std::span<const std::byte> raw) const;
    /// Number of call sites known.
    std::size_t size() const noexcept { return formats_.size(); }

private:
    std::unordered_map<std::uint32_t, std::string> formats_;
};

/// An Asio stream of formatted log records from one object.
///
/// Completion Signature: `void(boost::system::error_code, std::vector<bpfco::log_record>)`: at
/// least one record, or an error, with the ring_buffer's semantics (operation_aborted when
/// cancelled or closed, per-operation cancellation that loses nothing).
/// Thread safety: as ring_buffer (one stream, one thread or strand).
class log_stream {
public:
    /// The executor receives complete on unless the handler has its own.
    using executor_type = boost::asio::any_io_executor;
    /// Completion signature of async_receive: an error, or at least one record.
    using completion_signature = void(boost::system::error_code, std::vector<log_record>);

    /// Opens the object's bpfco_log_ring and bpfco_log_drops maps and reads its formats. The
    /// error names the map or section missing (an object that does not include log.bpf.h).
    static result<log_stream> create(const executor_type& ex, const object& obj, ring_buffer_options options = {});

    /// Takes `o`'s stream; `o` is left moved-from (operations fail with bad_descriptor).
    log_stream(log_stream&& o) noexcept : ex_(o.ex_), state_(std::move(o.state_)) {}
    /// Closes this stream, then takes `o`'s.
    log_stream& operator=(log_stream&& o) noexcept {
        if (this != &o) {
            close();
            ex_ = o.ex_;
            state_ = std::move(o.state_);
        }
        return *this;
    }

    /// The executor given to create() (kept after a move).
    executor_type get_executor() const noexcept { return ex_; }

    /// Waits for the records BPF has logged and completes with all of them, formatted, in the
    /// order BPF wrote them.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return boost::asio::async_compose<Token, completion_signature>(receive_op{ex_, state_}, token, ex_);
    }

    /// Records BPF could not log because the ring was full (summed over CPUs).
    result<std::uint64_t> dropped() const {
        if (!state_) return failure(EBADF, "log stream: moved from");
        return read_drop_counter(state_->drops);
    }
    /// A pending receive completes with operation_aborted. Idempotent.
    void close() noexcept {
        if (state_) state_->ring.close();
    }
    /// Not closed and not moved from.
    bool is_open() const noexcept { return state_ && state_->ring.is_open(); }

private:
    struct state {
        ring_buffer ring;
        map drops;
        log_formats formats;
    };
    struct receive_op {
        executor_type ex;
        std::shared_ptr<state> s;
        bool started = false;
        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}, ring_batch batch = {}) {
            if (!started) {
                started = true;
                if (!s) {
                    const auto e = ex;
                    return boost::asio::post(e, boost::asio::append(std::move(self), boost::asio::error::bad_descriptor, ring_batch()));
                }
                return s->ring.async_receive(std::move(self));
            }
            std::vector<log_record> out;
            if (!ec) {
                out.reserve(batch.size());
                for (const auto& rec : batch) out.push_back(s->formats.format(rec.data()));
                batch.release();
            }
            self.complete(ec, std::move(out));
        }
    };
    log_stream(executor_type ex, std::shared_ptr<state> s) noexcept : ex_(std::move(ex)), state_(std::move(s)) {}
    executor_type ex_;
    std::shared_ptr<state> state_;
};

}  // namespace bpfco
