// The umbrella header: everything bpfco offers.
#pragma once

#include <bpfco/array.hpp>
#include <bpfco/bloom_filter.hpp>
#include <bpfco/btf_layout.hpp>
#include <bpfco/cpumap.hpp>
#include <bpfco/cpus.hpp>
#include <bpfco/devmap.hpp>
#include <bpfco/error.hpp>
#include <bpfco/features.hpp>
#include <bpfco/flame_graph.hpp>
#include <bpfco/global.hpp>
#include <bpfco/hash_map.hpp>
#include <bpfco/histogram.hpp>
#include <bpfco/iterator.hpp>
#include <bpfco/link.hpp>
#include <bpfco/log_stream.hpp>
#include <bpfco/lpm_trie.hpp>
#include <bpfco/lru_hash_map.hpp>
#include <bpfco/map.hpp>
#include <bpfco/map_cursor.hpp>
#include <bpfco/map_entries.hpp>
#include <bpfco/map_of_maps.hpp>
#include <bpfco/map_watch.hpp>
#include <bpfco/object.hpp>
#include <bpfco/per_cpu.hpp>
#include <bpfco/per_cpu_array.hpp>
#include <bpfco/per_cpu_hash_map.hpp>
#include <bpfco/perf_buffer.hpp>
#include <bpfco/perf_event.hpp>
#include <bpfco/pin.hpp>
#include <bpfco/program.hpp>
#include <bpfco/program_array.hpp>
#include <bpfco/queue.hpp>
#include <bpfco/ring_buffer.hpp>
#include <bpfco/ring_records.hpp>
#include <bpfco/sockmap.hpp>
#include <bpfco/stack.hpp>
#include <bpfco/stack_trace_map.hpp>
#include <bpfco/symbolizer.hpp>
#include <bpfco/test_run.hpp>
#include <bpfco/trace_pipe.hpp>
#include <bpfco/typed_stream.hpp>
#include <bpfco/unique_fd.hpp>
#include <bpfco/user_ring_writer.hpp>
#include <bpfco/version.hpp>
#include <bpfco/xsk_socket.hpp>
#include <bpfco/xskmap.hpp>

/// \namespace bpfco
/// Everything bpfco offers. Without this block Doxygen documents no namespace, so the reference
/// would leave out every free function, enum and alias (update_flags, pin, queue, devmap, ...).
