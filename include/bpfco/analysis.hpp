// Performance analysis: histograms, flame graphs, symbolization, the kernel's BPF objects and
// their run-time cost.
#pragma once

#include <bpfco/analysis/flame_graph.hpp>
#include <bpfco/analysis/histogram.hpp>
#include <bpfco/analysis/kernel_objects.hpp>
#include <bpfco/analysis/program_watch.hpp>
#include <bpfco/analysis/symbolizer.hpp>
