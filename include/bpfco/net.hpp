// Networking maps and AF_XDP sockets.
#pragma once

#include <bpfco/net/cpumap.hpp>
#include <bpfco/net/devmap.hpp>
#include <bpfco/net/sockmap.hpp>
#include <bpfco/net/xsk_socket.hpp>
#include <bpfco/net/xskmap.hpp>
