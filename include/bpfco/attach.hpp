// Attaching programs: links, pins, perf events.
#pragma once

#include <bpfco/attach/link.hpp>
#include <bpfco/attach/perf_event.hpp>
#include <bpfco/attach/pin.hpp>
