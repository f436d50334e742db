// The user side of <bpfco/log.bpf.h>: reads the compact log records a BPF object writes and
// formats them with fmt, in the order BPF wrote them, counting what did not fit the ring.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/object.hpp>
#include <bpfco/ring_buffer.hpp>

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

enum class log_level : std::uint8_t { error = 1, warn = 2, info = 3, debug = 4, trace = 5 };

/// "ERROR", "WARN", "INFO", "DEBUG", "TRACE".
std::string_view to_string(log_level l) noexcept;

struct log_record {
    std::uint64_t timestamp_ns = 0;  ///< bpf_ktime_get_ns() when logged (CLOCK_MONOTONIC)
    log_level level = log_level::info;
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
    std::size_t size() const noexcept { return formats_.size(); }

private:
    std::unordered_map<std::uint32_t, std::string> formats_;
};

/// An Asio stream of formatted log records from one object.
///
/// Completion Signature: `void(boost::system::error_code, std::vector<bpfco::log_record>)`: at
/// least one record, or an error, with the ring_buffer's semantics (operation_aborted when
/// cancelled or closed, per-operation cancellation that loses nothing).
class log_stream {
public:
    using executor_type = boost::asio::any_io_executor;
    using completion_signature = void(boost::system::error_code, std::vector<log_record>);

    /// Opens the object's bpfco_log_ring and bpfco_log_drops maps and reads its formats.
    static result<log_stream> create(const executor_type& ex, const object& obj, ring_buffer_options options = {});

    log_stream(log_stream&& o) noexcept : ex_(o.ex_), state_(std::move(o.state_)) {}
    log_stream& operator=(log_stream&& o) noexcept {
        if (this != &o) {
            close();
            ex_ = o.ex_;
            state_ = std::move(o.state_);
        }
        return *this;
    }

    executor_type get_executor() const noexcept { return ex_; }

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
    void close() noexcept {
        if (state_) state_->ring.close();
    }
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
