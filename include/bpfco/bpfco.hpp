// The umbrella header: everything bpfco offers.
#pragma once

#include <bpfco/btf_layout.hpp>
#include <bpfco/cpus.hpp>
#include <bpfco/error.hpp>
#include <bpfco/kinds.hpp>
#include <bpfco/unique_fd.hpp>
#include <bpfco/version.hpp>

#include <bpfco/analysis.hpp>
#include <bpfco/attach.hpp>
#include <bpfco/loader.hpp>
#include <bpfco/maps.hpp>
#include <bpfco/net.hpp>
#include <bpfco/streams.hpp>

/// \namespace bpfco
/// Everything bpfco offers. Without this block Doxygen documents no namespace, so the reference
/// would leave out every free function, enum and alias (update_flags, pin, queue, devmap, ...).
