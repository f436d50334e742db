#include <bpfco/streams/detail/type_mismatches.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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
                // A receive fails from now on, but an async_receive says only bad_message: the
                // member that differs is named here too, once per stream.
                std::fprintf(stderr, "bpfco: %s\n", refusal_.c_str());
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
    static const bool debug = [] {
        const char* v = std::getenv("BPFCO_DEBUG");
        return v != nullptr && std::strcmp(v, "1") == 0;
    }();
    if (debug && !logged_.exchange(true, std::memory_order_relaxed))
        std::fprintf(stderr,
                     "bpfco: %s: a record of %zu bytes read as a type of %zu bytes; counted in "
                     "type_mismatches() (logged once per stream)\n",
                     stream_.c_str(), record_size, type_size);
}

}  // namespace bpfco::detail
