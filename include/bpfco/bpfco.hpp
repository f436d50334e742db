// The umbrella header: everything bpfco offers.
#pragma once

#include <bpfco/array.hpp>
#include <bpfco/error.hpp>
#include <bpfco/features.hpp>
#include <bpfco/hash_map.hpp>
#include <bpfco/histogram.hpp>
#include <bpfco/link.hpp>
#include <bpfco/lpm_trie.hpp>
#include <bpfco/lru_hash_map.hpp>
#include <bpfco/map.hpp>
#include <bpfco/map_cursor.hpp>
#include <bpfco/map_watch.hpp>
#include <bpfco/object.hpp>
#include <bpfco/per_cpu.hpp>
#include <bpfco/per_cpu_array.hpp>
#include <bpfco/per_cpu_hash_map.hpp>
#include <bpfco/perf_buffer.hpp>
#include <bpfco/perf_event.hpp>
#include <bpfco/program.hpp>
#include <bpfco/program_array.hpp>
#include <bpfco/queue.hpp>
#include <bpfco/ring_buffer.hpp>
#include <bpfco/ring_records.hpp>
#include <bpfco/stack.hpp>
#include <bpfco/stack_trace_map.hpp>
#include <bpfco/symbolizer.hpp>
#include <bpfco/test_run.hpp>
#include <bpfco/unique_fd.hpp>

// Upgrades in place: pinning and re-opening (issue 13).
#include <bpfco/map_of_maps.hpp>
#include <bpfco/pin.hpp>
