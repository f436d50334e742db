// object::ring_buffer<T>() and object::perf_buffer<T>(): a stream made from the object whose
// record type is checked against the object's BTF once, at set-up. Kept out of object.hpp so
// that including the loader does not pull in Asio.
#pragma once

#include <bpfco/loader/object.hpp>
#include <bpfco/streams/perf_buffer.hpp>
#include <bpfco/streams/ring_buffer.hpp>

#include <string>

namespace bpfco {

template <mirror_struct T, class Executor, class Options>
result<bpfco::ring_buffer> object::ring_buffer(const Executor& ex, std::string_view map_name, Options options,
                                               std::string_view bpf_struct) const {
    BPFCO_TRY(check_struct(bpf_struct, *detail::layout_if_mirror<T>(),
                           "records of map '" + std::string(map_name) + "'"));
    BPFCO_TRY(auto m, map(map_name));
    return bpfco::ring_buffer::create(ex, std::move(m), std::move(options));
}

template <mirror_struct T, class Executor, class Options>
result<bpfco::perf_buffer> object::perf_buffer(const Executor& ex, std::string_view map_name, Options options,
                                               std::string_view bpf_struct) const {
    BPFCO_TRY(check_struct(bpf_struct, *detail::layout_if_mirror<T>(),
                           "records of map '" + std::string(map_name) + "'"));
    BPFCO_TRY(auto m, map(map_name));
    return bpfco::perf_buffer::create(ex, std::move(m), std::move(options));
}

}  // namespace bpfco
