#include <bpfco/streams/log_stream.hpp>

#include "streams/start_op.hpp"

// The layout BPF C writes; by path, so every build of the library finds it whatever its include path.
#include "../bpf/include/bpfco/log_record.h"


#include <cstring>
#include <utility>

#include <fmt/args.h>
#include <fmt/format.h>

namespace asio = boost::asio;

namespace bpfco {
namespace detail {

struct log_state {
    log_state(ring_buffer r, map d, log_formats f) : ring(std::move(r)), drops(std::move(d)), formats(std::move(f)) {}

    bool is_open() const noexcept { return ring.is_open(); }
    bool busy() const noexcept { return pending; }
    void close() noexcept { ring.close(); }

    ring_buffer ring;
    map drops;
    log_formats formats;
    bool pending = false;
};

template class io_object<log_state>;

namespace {

// A receive of the ring, whose records are formatted as they complete it.
struct receive_op {
    std::shared_ptr<log_state> s;
    bool started = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, ring_batch batch = {}) {
        if (!started) {
            started = true;
            return s->ring.async_receive(std::move(self));
        }
        s->pending = false;
        std::vector<log_record> out;
        if (!ec) {
            out.reserve(batch.size());
            for (const auto& rec : batch) out.push_back(s->formats.format(rec.data()));
            batch.release();
        }
        self.complete(ec, std::move(out));
    }
};

}  // namespace

std::string_view level_name(log_level l) noexcept {
    switch (l) {
        case log_level::error: return "ERROR";
        case log_level::warn: return "WARN";
        case log_level::info: return "INFO";
        case log_level::debug: return "DEBUG";
        case log_level::trace: return "TRACE";
    }
    return "LEVEL?";
}

}  // namespace detail

log_formats log_formats::parse(std::span<const std::byte> section) {
    log_formats f;
    std::string_view all(reinterpret_cast<const char*>(section.data()), section.size());
    while (!all.empty()) {
        auto end = all.find('\0');
        auto entry = all.substr(0, end);
        all = end == std::string_view::npos ? std::string_view() : all.substr(end + 1);
        auto sep = entry.find('\x1f');
        if (sep == std::string_view::npos || sep == 0) continue;  // alignment padding
        std::uint32_t id = 0;
        bool digits = true;
        for (char c : entry.substr(0, sep)) {
            digits = digits && c >= '0' && c <= '9';
            id = id * 10 + static_cast<std::uint32_t>(c - '0');
        }
        if (digits) f.formats_.emplace(id, std::string(entry.substr(sep + 1)));
    }
    return f;
}

result<log_formats> log_formats::from_object(const object& obj) {
    BPFCO_TRY(auto m, obj.map(".rodata.bpfco_log"));
    std::vector<std::byte> bytes(m.info().value_size);
    std::uint32_t zero = 0;
    BPFCO_TRY(m.lookup_bytes(&zero, bytes.data()));
    return parse(bytes);
}

log_record log_formats::format(std::span<const std::byte> raw) const {
    log_record out;
    bpfco_log_record r{};
    if (raw.size() != sizeof r) {
        out.level = log_level::error;
        out.text = fmt::format("[bpfco_log: a record of {} bytes, not {}: BPF and user space disagree]", raw.size(),
                               sizeof r);
        return out;
    }
    std::memcpy(&r, raw.data(), sizeof r);
    out.timestamp_ns = r.timestamp_ns;
    out.level = static_cast<log_level>(r.level);
    auto it = formats_.find(r.format_id);
    if (it == formats_.end()) {
        out.text = fmt::format("[bpfco_log: unknown format id {}]", r.format_id);
        return out;
    }
    fmt::dynamic_format_arg_store<fmt::format_context> args;
    for (unsigned i = 0; i < r.nargs && i < BPFCO_LOG_MAX_ARGS; ++i) {
        std::uint64_t v = 0;
        std::memcpy(&v, r.args[i], sizeof v);
        switch (r.types[i]) {
            case BPFCO_LOG_ARG_I64: args.push_back(static_cast<std::int64_t>(v)); break;
            case BPFCO_LOG_ARG_STR: {
                const char* s = reinterpret_cast<const char*>(r.args[i]);
                args.push_back(std::string(s, ::strnlen(s, BPFCO_LOG_STR_SIZE)));
                break;
            }
            default: args.push_back(v); break;
        }
    }
    try {
        out.text = fmt::vformat(it->second, args);
    } catch (const fmt::format_error& e) {
        out.text = fmt::format("[bpfco_log: cannot format \"{}\" with {} arguments: {}]", it->second, r.nargs, e.what());
    }
    return out;
}

result<log_stream> log_stream::create(const executor_type& ex, const object& obj, ring_buffer_options options) {
    BPFCO_TRY(auto formats, log_formats::from_object(obj));
    BPFCO_TRY(auto ring_map, obj.map("bpfco_log_ring"));
    BPFCO_TRY(auto drops, obj.map("bpfco_log_drops"));
    BPFCO_TRY(auto ring, ring_buffer::create(ex, std::move(ring_map), options));
    return log_stream(ex, std::make_shared<detail::log_state>(std::move(ring), std::move(drops), std::move(formats)));
}

log_stream::log_stream(const executor_type& ex, const object& obj, ring_buffer_options options)
    : log_stream(create(ex, obj, options).value()) {}

result<std::uint64_t> log_stream::dropped() const {
    if (!state()) return failure(EBADF, "log stream: moved from");
    return read_drop_counter(state()->drops);
}

void log_stream::start_receive(const executor_type& ex, const std::shared_ptr<detail::log_state>& state,
                               asio::any_completion_handler<completion_signature> handler) {
    detail::start_op<completion_signature>(ex, state, std::move(handler), detail::receive_op{state});
}

}  // namespace bpfco
