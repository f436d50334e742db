// The umbrella header: everything bpfco offers.
#pragma once

#include <bpfco/error.hpp>
#include <bpfco/features.hpp>
#include <bpfco/link.hpp>
#include <bpfco/map.hpp>
#include <bpfco/object.hpp>
#include <bpfco/perf_buffer.hpp>
#include <bpfco/program.hpp>
#include <bpfco/ring_buffer.hpp>
#include <bpfco/ring_records.hpp>
#include <bpfco/test_run.hpp>
#include <bpfco/unique_fd.hpp>
