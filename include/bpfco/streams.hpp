// Asynchronous streams of kernel events (Asio I/O objects).
#pragma once

#include <bpfco/streams/iterator.hpp>
#include <bpfco/streams/log_stream.hpp>
#include <bpfco/streams/map_watch.hpp>
#include <bpfco/streams/perf_buffer.hpp>
#include <bpfco/streams/ring_buffer.hpp>
#include <bpfco/streams/ring_records.hpp>
#include <bpfco/streams/trace_pipe.hpp>
#include <bpfco/streams/typed_stream.hpp>
#include <bpfco/streams/user_ring_writer.hpp>
