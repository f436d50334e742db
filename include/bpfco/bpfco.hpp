// The umbrella header: everything bpfco offers.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/features.hpp>
#include <bpfco/histogram.hpp>
#include <bpfco/link.hpp>
#include <bpfco/map.hpp>
#include <bpfco/object.hpp>
#include <bpfco/perf_event.hpp>
#include <bpfco/program.hpp>
#include <bpfco/stack_trace_map.hpp>
#include <bpfco/symbolizer.hpp>
#include <bpfco/test_run.hpp>
#include <bpfco/unique_fd.hpp>
