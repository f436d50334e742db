// Performance analysis: histograms, flame graphs, symbolization.
#pragma once

#include <bpfco/analysis/flame_graph.hpp>
#include <bpfco/analysis/histogram.hpp>
#include <bpfco/analysis/symbolizer.hpp>
