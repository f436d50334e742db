// monitord's Prometheus text exposition (format 0.0.4), rendered from one consistent snapshot.
#pragma once

#include "monitord_events.h"

#include <bpfco/histogram.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace monitord {

struct metrics {
    std::array<std::array<monitord_packets, MONITORD_PROTOS>, MONITORD_DIRECTIONS> packets{};
    std::uint64_t blocked_packets = 0;
    std::uint64_t exec_events = 0, open_events = 0, connect_events = 0;
    std::uint64_t events_dropped = 0;  ///< the BPF side could not reserve ring space
    std::uint64_t output_dropped = 0;  ///< event lines not written: stdout too slow or gone
    bpfco::histogram lifetime_us = bpfco::histogram::log2({});  ///< exec-to-exit, microseconds
    std::uint64_t lifetime_sum_us = 0;
};

std::string render_prometheus(const metrics& m);

}  // namespace monitord
