#include <bpfco/bpfco.hpp>

#include "readme.bpf.types.hpp"  // generated from readme.bpf.c's BTF: readme::exec_event, globals, maps
#include "readme.bpf.skel.h"     // the object itself (bpftool skeleton); after the types it names

#include <boost/asio.hpp>
#include <fmt/format.h>

namespace asio = boost::asio;
using execs_view = bpfco::per_cpu_array<std::uint64_t>;

asio::awaitable<void> print_execs(bpfco::ring_buffer events) {
    for (;;) {
        auto batch = co_await events.async_receive(asio::use_awaitable);
        for (const auto& rec : batch)
            if (auto* e = rec.as<readme::exec_event>()) fmt::print("exec: pid {} uid {} {}\n", e->pid, e->uid, e->comm);
    }
}

asio::awaitable<void> print_rate(bpfco::map_watch<execs_view>& execs) {
    for (;;) {
        auto snap = co_await execs.async_receive(asio::use_awaitable);  // summed over CPUs
        fmt::print("{:.1f} execs/s\n", snap.rate(0));
    }
}

int main(int argc, char** argv) {
    auto obj = bpfco::object::open_skeleton("readme", readme_bpf__elf_bytes).value();
    obj.global(readme::globals::targ_uid).value().set(0).value();  // root's execs only: before load
    obj.load().value();
    auto link = obj.program("on_exec").value().attach().value();  // detaches in ~link

    asio::io_context io;
    // The record type is checked against the program's BTF here, not record by record later.
    auto events = obj.ring_buffer(io, readme::maps::events).value();
    bpfco::map_watch execs(io, obj.map<execs_view>("execs").value(), std::chrono::seconds(1));
    asio::co_spawn(io, print_execs(std::move(events)), asio::detached);
    asio::co_spawn(io, print_rate(execs), asio::detached);

    asio::steady_timer stop(io, std::chrono::seconds(argc > 1 ? std::atoi(argv[1]) : 5));
    stop.async_wait([&](auto) { io.stop(); });  // the coroutines are destroyed with io
    io.run();
}
