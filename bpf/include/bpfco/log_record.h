/* The record bpfco_log() (<bpfco/log.bpf.h>) writes and bpfco::log_stream reads: a format id and
 * raw arguments, formatted in user space. Shared by BPF C and C++. */
#pragma once

#ifdef __cplusplus
#include <cstdint>
#define BPFCO_LOG_U8 std::uint8_t
#define BPFCO_LOG_U32 std::uint32_t
#define BPFCO_LOG_U64 std::uint64_t
#else
#define BPFCO_LOG_U8 __u8
#define BPFCO_LOG_U32 __u32
#define BPFCO_LOG_U64 __u64
#endif

#define BPFCO_LOG_MAX_ARGS 6
#define BPFCO_LOG_STR_SIZE 32 /* a string argument keeps at most 31 characters */

enum bpfco_log_level {
    BPFCO_LOG_ERROR = 1,
    BPFCO_LOG_WARN = 2,
    BPFCO_LOG_INFO = 3,
    BPFCO_LOG_DEBUG = 4,
    BPFCO_LOG_TRACE = 5,
};

enum bpfco_log_arg_type {
    BPFCO_LOG_ARG_I64 = 1, /* any signed integer, sign-extended */
    BPFCO_LOG_ARG_U64 = 2, /* any unsigned integer or pointer */
    BPFCO_LOG_ARG_STR = 3, /* a NUL-terminated string, copied */
};

struct bpfco_log_record {
    BPFCO_LOG_U64 timestamp_ns; /* bpf_ktime_get_ns() */
    BPFCO_LOG_U32 format_id;
    BPFCO_LOG_U8 level;
    BPFCO_LOG_U8 nargs;
    BPFCO_LOG_U8 types[BPFCO_LOG_MAX_ARGS];
    BPFCO_LOG_U8 args[BPFCO_LOG_MAX_ARGS][BPFCO_LOG_STR_SIZE]; /* numbers: the first 8 bytes */
};
