#include <bpfco/streams/detail/type_mismatches.hpp>

#include "internal/libbpf_log.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace bpfco::detail {

bool type_mismatch_counter::admit(const void* tag, const cpp_layout* (*layout)(), bool fits, std::size_t size,
                                  std::size_t type_size) const noexcept {
    if (!fits) {
        note(size, type_size);
        return false;
    }
    bool ok = true;
    {
        std::lock_guard g(lock_);
        auto v = std::find_if(verdicts_.begin(), verdicts_.end(), [&](const auto& p) { return p.first == tag; });
        if (v != verdicts_.end()) {
            ok = v->second;
        } else {
            const cpp_layout* l = declared_ ? layout() : nullptr;
            auto checked = l ? declared_->check(*l) : result<void>(boost::outcome_v2::success());
            ok = bool(checked);
            verdicts_.emplace_back(tag, ok);
            if (!ok && refusal_.empty()) {
                refusal_ = stream_ + ": records read as '" + std::string(l->type_name) +
                           "' are refused (as<T>() returns none, each one counted in type_mismatches()): " +
                           checked.error().message;
                // An async_receive says only bad_message: the stream's record_type_refusal()
                // gives this text; with BPFCO_DEBUG=1 it is logged too (a library does not write
                // to its user's stderr unasked).
                debug_log(refusal_);
                refused_.store(true, std::memory_order_relaxed);
            }
        }
    }
    if (!ok) {
        count_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    admitted_.store(tag, std::memory_order_relaxed);
    return true;
}

std::string type_mismatch_counter::refusal() const {
    std::lock_guard g(lock_);
    return refusal_;
}

void type_mismatch_counter::note(std::size_t record_size, std::size_t type_size) const noexcept {
    count_.fetch_add(1, std::memory_order_relaxed);
    if (!logged_.exchange(true, std::memory_order_relaxed))
        debug_log(fmt::format("{}: a record of {} bytes read as a type of {} bytes; counted in type_mismatches() "
                              "(logged once per stream)",
                              stream_, record_size, type_size));
}

}  // namespace bpfco::detail
