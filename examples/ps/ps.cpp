// ps from a BPF task iterator: the kernel walks its task list and prints one line per process;
// we read the lines as an Asio stream and lay them out as a table.
//   ps [--comm SUBSTRING]
#include <bpfco/bpfco.hpp>

#include "command_line.hpp"
#include "ps.bpf.skel.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <ctime>
#include <sstream>
#include <string>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace {

// Seconds since boot: the kernel's task start_time is CLOCK_BOOTTIME in ns.
double uptime() {
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

asio::awaitable<int> list(bpfco::iterator_stream& tasks, const std::string& filter) {
    const double now = uptime();
    fmt::print("{:>7} {:>7} {:>4} {:>10}  {}\n", "PID", "PPID", "THR", "ELAPSED", "COMM");
    std::string buf;
    for (;;) {
        auto [ec, n] = co_await asio::async_read_until(tasks, asio::dynamic_buffer(buf), '\n',
                                                       asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::eof) co_return 0;
        if (ec) {
            fmt::print(stderr, "ps: reading the task iterator: {}\n", ec.message());
            co_return 1;
        }
        std::istringstream line(buf.substr(0, n - 1));
        buf.erase(0, n);
        int pid = 0, ppid = 0, threads = 0;
        unsigned long long start_ns = 0;
        std::string comm;
        line >> pid >> ppid >> threads >> start_ns;
        std::getline(line >> std::ws, comm);
        if (!filter.empty() && comm.find(filter) == std::string::npos) continue;
        fmt::print("{:>7} {:>7} {:>4} {:>9.0f}s  {}\n", pid, ppid, threads, now - start_ns / 1e9, comm);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string filter;
    examples::command_line cli("ps", "Lists the processes, as a BPF task iterator walks them.");
    cli.add_option("--comm", filter, "only commands containing SUBSTRING")->type_name("SUBSTRING");
    cli.parse_or_exit(argc, argv);
    try {
        auto obj = bpfco::object::load_skeleton("ps", ps_bpf__elf_bytes).value();
        auto link = obj.program("ps_tasks").value().attach_iter().value();
        asio::io_context io;
        auto tasks = bpfco::iterator_stream::create(io.get_executor(), link).value();
        int status = 0;
        asio::co_spawn(io, list(tasks, filter), [&](std::exception_ptr e, int s) {
            if (e) std::rethrow_exception(e);
            status = s;
        });
        io.run();
        return status;
    } catch (const std::exception& e) {
        fmt::print(stderr, "ps: {}\n", e.what());
        return 1;
    }
}
