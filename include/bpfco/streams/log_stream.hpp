// The user side of <bpfco/log.bpf.h>: reads the compact log records a BPF object writes and
// formats them with fmt, in the order BPF wrote them, counting what did not fit the ring.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/loader/object.hpp>
#include <bpfco/streams/detail/io_object.hpp>
#include <bpfco/streams/ring_buffer.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bpfco {

namespace detail {
struct log_state;
// Instantiated in src/streams/log_stream.cpp, where log_state is defined.
extern template class io_object<log_state>;
}  // namespace detail

/// A record's severity, as given to bpfco_log() (BPFCO_LOG_ERROR ... BPFCO_LOG_TRACE); the values
/// are those the BPF side writes.
enum class log_level : std::uint8_t { error = 1, warn = 2, info = 3, debug = 4, trace = 5 };

namespace detail {
// "ERROR", "WARN", "INFO", "DEBUG", "TRACE"; "LEVEL?" for a value the BPF side never writes.
std::string_view level_name(log_level l) noexcept;
}  // namespace detail

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
/// cancelled, closed or destroyed while pending, bad_descriptor after close or a move,
/// already_started while another receive is pending; per-operation cancellation that loses
/// nothing).
/// Thread safety: as ring_buffer (one stream, one thread or strand).
class log_stream : public detail::io_object<detail::log_state> {
public:
    /// Completion signature of async_receive: an error, or at least one record.
    using completion_signature = void(boost::system::error_code, std::vector<log_record>);

    /// Opens the object's bpfco_log_ring and bpfco_log_drops maps and reads its formats. The
    /// error names the map or section missing (an object that does not include log.bpf.h).
    static result<log_stream> create(const executor_type& ex, const object& obj, ring_buffer_options options = {});
    /// As create(), throwing bpfco::error_exception on failure.
    log_stream(const executor_type& ex, const object& obj, ring_buffer_options options = {});
    /// On `ctx`'s executor, as Asio's I/O objects take an io_context.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    log_stream(ExecutionContext& ctx, const object& obj, ring_buffer_options options = {})
        : log_stream(executor_type(ctx.get_executor()), obj, options) {}
    /// Takes `o`'s stream; `o` keeps its executor and is left closed.
    log_stream(log_stream&& o) noexcept = default;
    /// Closes this stream (as close()), then takes `o`'s.
    log_stream& operator=(log_stream&& o) noexcept = default;
    /// Closes: a pending receive completes with operation_aborted.
    ~log_stream() = default;

    /// Waits for the records BPF has logged and completes with all of them, formatted, in the
    /// order BPF wrote them.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(completion_signature) Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = boost::asio::default_completion_token_t<executor_type>()) {
        return this->template async_start<completion_signature, &start_receive>(std::forward<Token>(token));
    }

    /// Records BPF could not log because the ring was full (summed over CPUs); EBADF once moved from.
    result<std::uint64_t> dropped() const;

private:
    log_stream(executor_type ex, std::shared_ptr<detail::log_state> s) noexcept
        : io_object(std::move(ex), std::move(s)) {}
    static void start_receive(const executor_type& ex, const std::shared_ptr<detail::log_state>& state,
                              boost::asio::any_completion_handler<completion_signature> handler);
};

}  // namespace bpfco

// Doxygen cannot place a specialisation declared outside namespace fmt: kept out of the reference.
/// \cond
// `fmt::format("{}", bpfco::log_level::warn)` is "WARN".
template <>
struct fmt::formatter<bpfco::log_level> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(bpfco::log_level l, FormatContext& ctx) const {
        return fmt::formatter<std::string_view>::format(bpfco::detail::level_name(l), ctx);
    }
};
/// \endcond
