// object::ring_buffer<T>() and object::perf_buffer<T>(): a stream made from the object whose
// record type is checked against the object's BTF once, at set-up. Kept out of object.hpp so
// that including the loader does not pull in Asio.
#pragma once

#include <bpfco/loader/object.hpp>
#include <bpfco/streams/perf_buffer.hpp>
#include <bpfco/streams/ring_buffer.hpp>

#include <boost/asio/execution_context.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace bpfco {

namespace detail {
// object::ring_buffer<T>(io, ...) as ring_buffer(io, ...): an execution context gives its executor.
template <class ExecutorOrContext>
decltype(auto) executor_of(ExecutorOrContext& ex) {
    if constexpr (std::is_convertible_v<ExecutorOrContext&, boost::asio::execution_context&>)
        return ex.get_executor();
    else
        return ex;
}
}  // namespace detail

template <mirror_struct T, class ExecutorOrContext, class Options>
result<bpfco::ring_buffer> object::ring_buffer(ExecutorOrContext&& ex, std::string_view map_name, Options options,
                                               std::string_view bpf_struct) const {
    BPFCO_TRY(check_records(map_name, bpf_struct, *detail::layout_if_mirror<T>()));
    BPFCO_TRY(auto m, map(map_name));
    return bpfco::ring_buffer::create(bpfco::ring_buffer::executor_type(detail::executor_of(ex)), std::move(m),
                                      std::move(options));
}

template <mirror_struct T, class ExecutorOrContext, class Options>
result<bpfco::perf_buffer> object::perf_buffer(ExecutorOrContext&& ex, std::string_view map_name, Options options,
                                               std::string_view bpf_struct) const {
    BPFCO_TRY(check_records(map_name, bpf_struct, *detail::layout_if_mirror<T>()));
    BPFCO_TRY(auto m, map(map_name));
    return bpfco::perf_buffer::create(bpfco::perf_buffer::executor_type(detail::executor_of(ex)), std::move(m),
                                      std::move(options));
}

template <mirror_struct T, class ExecutorOrContext, class Options>
result<bpfco::ring_buffer> object::ring_buffer(ExecutorOrContext&& ex, record_map<T> m, Options options) const {
    return ring_buffer<T>(std::forward<ExecutorOrContext>(ex), m.name, std::move(options));
}

template <mirror_struct T, class ExecutorOrContext, class Options>
result<bpfco::perf_buffer> object::perf_buffer(ExecutorOrContext&& ex, record_map<T> m, Options options) const {
    return perf_buffer<T>(std::forward<ExecutorOrContext>(ex), m.name, std::move(options));
}

}  // namespace bpfco
