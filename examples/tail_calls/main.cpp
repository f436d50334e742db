// tail_calls: a parser program hands packets to per-protocol filters through a program array,
// set up from C++ and changed at run time. Driven by BPF_PROG_TEST_RUN, so it needs no traffic.
#include "tail_calls.bpf.skel.h"

#include <bpfco/bpfco.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace {
enum : std::uint32_t { slot_ipv4, slot_ipv6, slot_other };

// A minimal Ethernet frame with the given EtherType, padded to the minimum frame size.
std::array<std::byte, 64> frame(std::uint16_t ethertype) {
    std::array<std::byte, 64> f{};
    f[12] = std::byte(ethertype >> 8);
    f[13] = std::byte(ethertype & 0xff);
    return f;
}

const char* verdict(std::uint32_t v) { return v == 1 ? "XDP_DROP" : v == 2 ? "XDP_PASS" : "other"; }

void run(const bpfco::program& parser, const char* what, std::uint16_t ethertype) {
    auto f = frame(ethertype);
    auto r = bpfco::test_run(parser, {.data_in = f, .data_out_size = f.size()});
    if (!r) {
        fmt::print(stderr, "tail_calls: {}\n", r.error().message);
        std::exit(1);
    }
    fmt::print("  {:<5} packet -> {}\n", what, verdict(r.value().return_value));
}

void run_all(const bpfco::program& parser, const char* title) {
    fmt::print("{}\n", title);
    run(parser, "IPv4", 0x0800);
    run(parser, "IPv6", 0x86DD);
    run(parser, "ARP", 0x0806);
}
}  // namespace

int main() {
    auto obj = bpfco::object::load_skeleton("tail_calls", tail_calls_bpf__elf_bytes);
    if (!obj) {
        fmt::print(stderr, "tail_calls: {}\n", obj.error().message);
        return 1;
    }
    auto& o = obj.value();
    auto filters = o.map<bpfco::program_array>("filters").value();
    auto parser = o.program("parse_packet").value();

    run_all(parser, "no filters installed (every packet falls through to the parser's XDP_PASS):");

    filters.insert(slot_ipv4, o.program("filter_ipv4").value()).value();
    filters.insert(slot_ipv6, o.program("filter_ipv6").value()).value();
    filters.insert(slot_other, o.program("filter_other").value()).value();
    run_all(parser, "filters installed (non-IP packets are dropped by filter_other):");

    filters.erase(slot_other).value();
    run_all(parser, "filter_other removed at run time (non-IP packets pass again):");

    auto seen = o.map<bpfco::per_cpu_array<std::uint64_t>>("seen").value();
    fmt::print("packets seen: ipv4 filter {}, ipv6 filter {}, other filter {}, fall-through {}\n",
               seen.lookup_sum(slot_ipv4).value().value_or(0), seen.lookup_sum(slot_ipv6).value().value_or(0),
               seen.lookup_sum(slot_other).value().value_or(0), seen.lookup_sum(3).value().value_or(0));
    return 0;
}
