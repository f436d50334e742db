// Errors: every synchronous call returns bpfco::result<T>; a failure carries an errno-category
// code and a message that names the object (program, map, interface, file) and the reason.
//
// The one message format, used by every error bpfco makes:
//
//     <thing>: <what was tried>: <errno text>[ (<hint>)][\n<libbpf's last lines>]
//
// e.g. "program 'count': attach kprobe to 'do_nothing': Operation not supported (this kernel has
// no kprobes ...)". <thing> nests from the outside in ("object 'app': program 'count': ...").
// The errno text appears once: error_exception::what() and `fmt::format("{}", e)` are exactly this
// message.
#pragma once

#include <boost/outcome/basic_result.hpp>
#include <boost/outcome/policy/base.hpp>
#include <boost/outcome/try.hpp>
#include <fmt/format.h>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace bpfco {

/// The failure half of a result: what went wrong (code) and about what (message).
/// `fmt::format("{}", e)` prints the message.
struct error {
    std::error_code code;  ///< an errno value in std::generic_category()
    std::string message;   ///< the whole message, in the format above
    /// Set by a batch write (map::insert_batch_bytes, erase_batch_bytes and the typed views'
    /// insert_batch, erase_batch) that failed once started: how many entries it applied, all
    /// before the failing one, which is entry `*applied`. Empty for every other error.
    std::optional<std::size_t> applied = std::nullopt;
};

/// Thrown by result<T>::value() on failure, so that `.value()` reads like Outcome's default and
/// the exception still says which program or map failed. what() is the error's message as is
/// (std::system_error would append the errno text a second time); code() is its code.
class error_exception : public std::system_error {
public:
    /// Carries `e`'s code and message.
    explicit error_exception(const error& e) : std::system_error(e.code), message_(e.message) {}
    /// The error's message, exactly.
    const char* what() const noexcept override { return message_.what(); }

private:
    std::runtime_error message_;  // a string whose copies cannot throw, as exceptions need
};

namespace detail {
struct throwing_policy : boost::outcome_v2::policy::base {
    template <class Impl> static constexpr void wide_value_check(Impl&& self) {
        if (!base::_has_value(self)) throw error_exception(base::_error(self));
    }
    template <class Impl> static constexpr void wide_error_check(Impl&& self) {
        if (!base::_has_error(self)) throw std::logic_error("bpfco::result holds a value, not an error");
    }
};
}  // namespace detail

/// What every synchronous call returns: a T, or an error naming the thing and the reason. An
/// Outcome basic_result: test it with `if (!r)`, read r.error(), or propagate with BPFCO_TRY;
/// value() on a failure throws error_exception. Thread safety: as for a T.
template <class T>
using result = boost::outcome_v2::basic_result<T, error, detail::throwing_policy>;

/// A failure from an errno value and a message naming the thing.
inline error make_error(int errnum, std::string message) {
    return error{std::error_code(errnum, std::generic_category()), std::move(message)};
}

/// The failure half from an errno value, convertible to any result<T>.
inline auto failure(int errnum, std::string message) {
    return boost::outcome_v2::failure(make_error(errnum, std::move(message)));
}
/// The failure half from an error already made (make_error(), program::make_error(), ...).
inline auto failure(error e) { return boost::outcome_v2::failure(std::move(e)); }

}  // namespace bpfco

// `fmt::format("{}", e)` is e.message, the whole message in the format above. Hidden from the
// reference: Doxygen cannot place a specialization in fmt's namespace (see bpfco::error).
/// \cond
template <>
struct fmt::formatter<bpfco::error> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(const bpfco::error& e, FormatContext& ctx) const {
        return fmt::formatter<std::string_view>::format(e.message, ctx);
    }
};
/// \endcond

/// `BPFCO_TRY(auto x, f())` binds f()'s value or returns its failure from the enclosing function
/// (which must return a result); `BPFCO_TRY(f())` for a result<void>. Outcome's TRY.
#define BPFCO_TRY BOOST_OUTCOME_TRY
