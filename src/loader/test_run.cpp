#include <bpfco/loader/test_run.hpp>

#include <bpf/bpf.h>

#include <cerrno>

namespace bpfco {

result<test_run_result> test_run(const program& prog, const test_run_options& o) {
    test_run_result r;
    r.data_out.resize(o.data_out_size);
    LIBBPF_OPTS(bpf_test_run_opts, opts,
                .data_in = o.data_in.empty() ? nullptr : o.data_in.data(),
                .data_out = r.data_out.empty() ? nullptr : r.data_out.data(),
                .data_size_in = static_cast<std::uint32_t>(o.data_in.size()),
                .data_size_out = static_cast<std::uint32_t>(r.data_out.size()),
                .ctx_in = o.ctx_in.empty() ? nullptr : o.ctx_in.data(),
                .ctx_size_in = static_cast<std::uint32_t>(o.ctx_in.size()),
                .repeat = static_cast<int>(o.repeat), .flags = o.flags, .cpu = o.cpu);
    if (bpf_prog_test_run_opts(prog.fd(), &opts) != 0) return failure(prog.make_error(errno, "test run"));
    r.return_value = opts.retval;
    r.duration = std::chrono::nanoseconds(opts.duration);
    r.data_out.resize(opts.data_size_out);
    return r;
}

}  // namespace bpfco
