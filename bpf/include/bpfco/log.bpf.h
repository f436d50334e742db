/* Logging from BPF C that is cheaper and richer than bpf_printk(): compact records (a format id
 * and raw arguments) through a ring buffer, formatted with fmt by bpfco::log_stream in user space.
 *
 *     #include <bpfco/log.bpf.h>
 *     bpfco_log(BPFCO_LOG_INFO, "pid {} opened {} (flags {:#x})", pid, filename, flags);
 *
 * The format is fmt's ("{}", "{:x}", "{:>8}", ...), with up to 6 arguments: integers of any
 * width (signed ones print signed), pointers (as unsigned numbers) and strings (char arrays or
 * pointers to kernel or BPF memory, of which the first 31 characters are copied: copy user
 * memory first with bpf_probe_read_user_str). A record that does not fit the ring is counted in
 * bpfco_log_drops, never lost silently; log_stream::dropped() reads the count.
 *
 * Including this header declares the two maps (bpfco_log_ring, 256 KiB unless resized before
 * load with object::set_max_entries, and bpfco_log_drops). The format strings go into the
 * object's ".rodata.bpfco_log" section, which user space reads from the loaded object; their
 * ids come from __COUNTER__, so include the header in one translation unit per object (as
 * bpfco's skeleton helper builds objects). */
#pragma once

#include <bpfco/log_record.h>
#include <bpfco/ringbuf.bpf.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} bpfco_log_ring SEC(".maps");

BPFCO_RINGBUF_DROPS(bpfco_log_drops);

#define bpfco_log(level, format, ...) ___bpfco_log_id(__COUNTER__, level, format, ##__VA_ARGS__)

/* The id is expanded once here so that the format's section entry and the record agree. */
#define ___bpfco_log_id(id, lvl, format, ...) ___bpfco_log(id, lvl, format, ##__VA_ARGS__)
#define ___bpfco_log(id, lvl, format, ...)                                                             \
    ({                                                                                               \
        _Static_assert(___bpfco_nargs(__VA_ARGS__) <= BPFCO_LOG_MAX_ARGS, "bpfco_log: at most 6 arguments"); \
        static const char ___bpfco_fmt[] __attribute__((section(".rodata.bpfco_log"), used)) = #id "\x1f" format; \
        struct bpfco_log_record *___r = bpfco_ringbuf_reserve(&bpfco_log_ring, sizeof(*___r), &bpfco_log_drops); \
        if (___r) {                                                                                  \
            ___r->timestamp_ns = bpf_ktime_get_ns();                                                 \
            ___r->format_id = id;                                                                    \
            ___r->level = (lvl);                                                                     \
            ___r->nargs = ___bpfco_nargs(__VA_ARGS__);                                               \
            ___bpfco_args(___r, ##__VA_ARGS__);                                                      \
            bpf_ringbuf_submit(___r, 0);                                                             \
        }                                                                                            \
    })

#define ___bpfco_nth(_0, _1, _2, _3, _4, _5, _6, _7, n, ...) n
#define ___bpfco_nargs(...) ___bpfco_nth(_, ##__VA_ARGS__, 7, 6, 5, 4, 3, 2, 1, 0)
#define ___bpfco_cat2(a, b) a##b
#define ___bpfco_cat(a, b) ___bpfco_cat2(a, b)

#define ___bpfco_type(x)                                                                            \
    _Generic((x), char *: BPFCO_LOG_ARG_STR, const char *: BPFCO_LOG_ARG_STR,                       \
             char: BPFCO_LOG_ARG_I64, signed char: BPFCO_LOG_ARG_I64, short: BPFCO_LOG_ARG_I64,     \
             int: BPFCO_LOG_ARG_I64, long: BPFCO_LOG_ARG_I64, long long: BPFCO_LOG_ARG_I64,         \
             default: BPFCO_LOG_ARG_U64)

#define ___bpfco_arg(r, i, x)                                                                       \
    do {                                                                                            \
        r->types[i] = ___bpfco_type(x);                                                             \
        if (___bpfco_type(x) == BPFCO_LOG_ARG_STR)                                                  \
            bpf_probe_read_kernel_str(r->args[i], BPFCO_LOG_STR_SIZE, (const void *)(unsigned long)(x)); \
        else                                                                                        \
            *(__u64 *)r->args[i] = (__u64)(x);                                                      \
    } while (0)

#define ___bpfco_args(r, ...) ___bpfco_cat(___bpfco_args_, ___bpfco_nargs(__VA_ARGS__))(r, ##__VA_ARGS__)
#define ___bpfco_args_0(r)
#define ___bpfco_args_1(r, a) ___bpfco_arg(r, 0, a)
#define ___bpfco_args_2(r, a, b) ___bpfco_args_1(r, a); ___bpfco_arg(r, 1, b)
#define ___bpfco_args_3(r, a, b, c) ___bpfco_args_2(r, a, b); ___bpfco_arg(r, 2, c)
#define ___bpfco_args_4(r, a, b, c, d) ___bpfco_args_3(r, a, b, c); ___bpfco_arg(r, 3, d)
#define ___bpfco_args_5(r, a, b, c, d, e) ___bpfco_args_4(r, a, b, c, d); ___bpfco_arg(r, 4, e)
#define ___bpfco_args_6(r, a, b, c, d, e, f) ___bpfco_args_5(r, a, b, c, d, e); ___bpfco_arg(r, 5, f)
