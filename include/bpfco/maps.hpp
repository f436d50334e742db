// Maps and their typed views.
#pragma once

#include <bpfco/maps/array.hpp>
#include <bpfco/maps/bloom_filter.hpp>
#include <bpfco/maps/hash_map.hpp>
#include <bpfco/maps/lpm_trie.hpp>
#include <bpfco/maps/lru_hash_map.hpp>
#include <bpfco/maps/map.hpp>
#include <bpfco/maps/map_cursor.hpp>
#include <bpfco/maps/map_entries.hpp>
#include <bpfco/maps/map_of_maps.hpp>
#include <bpfco/maps/per_cpu.hpp>
#include <bpfco/maps/per_cpu_array.hpp>
#include <bpfco/maps/per_cpu_hash_map.hpp>
#include <bpfco/maps/program_array.hpp>
#include <bpfco/maps/queue.hpp>
#include <bpfco/maps/stack.hpp>
#include <bpfco/maps/stack_trace_map.hpp>
