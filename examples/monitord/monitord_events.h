/* Records monitord's BPF programs send to user space, its map keys and values. The constants are
 * shared by BPF C and C++; the structs are the BPF side's only: C++ takes them from the header
 * generated from the object's BTF (monitord.bpf.types.hpp, namespace monitord), so they are
 * declared once. Every record starts with its kind. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MONITORD_COMM_LEN 16
#define MONITORD_PATH_LEN 256

enum monitord_kind { MONITORD_EXEC = 1, MONITORD_OPEN = 2, MONITORD_CONNECT = 3 };

/* Packet counters: index = direction * MONITORD_PROTOS + protocol. */
enum monitord_proto { MONITORD_TCP, MONITORD_UDP, MONITORD_ICMP, MONITORD_OTHER, MONITORD_PROTOS };
enum monitord_direction { MONITORD_INGRESS, MONITORD_EGRESS, MONITORD_DIRECTIONS };

/* Slots of the per-CPU `counters` array. */
enum monitord_counter {
    MONITORD_BLOCKED_PACKETS, /* dropped by the blocklist */
    MONITORD_LIFETIME_SUM_US, /* sum of the lifetimes in lifetime_us, for Prometheus' _sum */
    MONITORD_COUNTERS,
};

#define MONITORD_LIFETIME_SLOTS 65 /* log2 buckets of process lifetime in us (bpfco_hist_log2_add) */

#ifndef __cplusplus
/* Per-CPU `packets` values. */
struct monitord_packets {
    __u64 packets;
    __u64 bytes;
};

struct monitord_exec {
    __u32 kind;
    __u32 pid;
    __u32 ppid;
    __u32 uid;
    char comm[MONITORD_COMM_LEN];
    char filename[MONITORD_PATH_LEN];
};

struct monitord_open {
    __u32 kind;
    __u32 pid;
    __s32 flags;
    __s32 result; /* fd, or -errno */
    char comm[MONITORD_COMM_LEN];
    char path[MONITORD_PATH_LEN];
};

struct monitord_connect {
    __u32 kind;
    __u32 pid;
    __u16 family; /* AF_INET or AF_INET6 */
    __u16 sport;  /* host order */
    __u16 dport;  /* host order */
    __u16 mechanism; /* 0 tracepoint, 1 kprobe, 2 fentry */
    __u8 saddr[16];
    __u8 daddr[16];
    char comm[MONITORD_COMM_LEN];
};

/* Blocklist keys (LPM tries): prefix length in bits, then the address in network order. */
struct monitord_v4_key {
    __u32 prefixlen;
    __u8 addr[4];
};
struct monitord_v6_key {
    __u32 prefixlen;
    __u8 addr[16];
};
#endif
