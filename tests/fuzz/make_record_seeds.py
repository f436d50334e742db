#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_ring_records and fuzz_perf_records: rings laid out as the kernel
lays them out (kernel/bpf/ringbuf.c; PERF_RECORD_SAMPLE/LOST from uapi/linux/perf_event.h),
holding the 64-byte struct bpfco_seq_event records the stream tests send, discarded and busy
records, records that wrap the end, and lost-record reports. usage: make_record_seeds.py [CORPUS_DIR]"""
import os
import struct
import sys

BUSY, DISCARD = 1 << 31, 1 << 30


def seq_event(seq, pid=1234, cpu=0):
    return struct.pack("<QQII40x", seq, 1_000_000 + seq, pid, cpu)


def ring_seed(shift, begin, records, max_records=0, extra=0):
    """records: (payload, flags) in order from `begin`; the input's ring bytes start at begin."""
    cap = 8 << shift
    body = b""
    for payload, flags in records:
        body += struct.pack("<II", len(payload) | flags, 0) + payload
        body += b"\0" * (-len(body) % 8)
    assert len(body) <= cap
    published = len(body) + extra
    return struct.pack("<BQIB", shift, begin, published, max_records) + body


def perf_seed(shift, tail, records, extra=0, pad=True):
    size = 4 << shift
    body = b""
    for kind, value in records:
        if kind == "sample":
            raw = struct.pack("<I", len(value)) + value
            if pad:
                raw += b"\0" * (-(len(raw) + 8) % 8)
            body += struct.pack("<IHH", 9, 0, 8 + len(raw)) + raw
        elif kind == "lost":
            body += struct.pack("<IHHQQ", 2, 0, 24, 7, value)
        else:  # another record type, e.g. PERF_RECORD_THROTTLE (5)
            body += struct.pack("<IHHQ", 5, 0, 16, 0)
    assert len(body) <= size, (len(body), size)
    return struct.pack("<BQI", shift, tail, len(body) + extra) + body


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    ev = [seq_event(i) for i in range(8)]
    ring = {
        "three_events": ring_seed(9, 0, [(e, 0) for e in ev[:3]]),
        "submitted_discarded_submitted": ring_seed(9, 0, [(ev[0], 0), (ev[1], DISCARD), (ev[2], 0)]),
        "busy_in_the_middle": ring_seed(9, 0, [(ev[0], 0), (ev[1], BUSY), (ev[2], 0)]),
        "odd_lengths": ring_seed(8, 0, [(b"x", 0), (b"12345", 0), (b"", 0), (b"y" * 9, 0)]),
        # A ring of 512 bytes with the consumer 40 bytes before the end: the second record wraps.
        "wraps_the_end": ring_seed(6, 512 - 40 + 4096, [(e, 0) for e in ev[:5]]),
        "max_records_2": ring_seed(9, 0, [(e, 0) for e in ev], max_records=2),
        "length_past_producer": ring_seed(9, 0, [(ev[0], 0)], extra=-8),
        "near_u64_wrap": ring_seed(9, (1 << 64) - 72, [(e, 0) for e in ev[:3]]),
    }
    perf = {
        "three_samples": perf_seed(10, 0, [("sample", e) for e in ev[:3]]),
        "sample_lost_sample": perf_seed(10, 0, [("sample", ev[0]), ("lost", 42), ("sample", ev[1])]),
        "other_record_type": perf_seed(10, 0, [("other", None), ("sample", ev[0])]),
        # 512-byte ring, tail 24 bytes before the end: the first sample wraps into the scratch buffer.
        "wraps_the_end": perf_seed(7, 512 - 24, [("sample", e) for e in ev[:4]]),
        "unpadded_odd_sizes": perf_seed(8, 0, [("sample", b"abc"), ("sample", b"")], pad=False),
        "size_past_head": perf_seed(8, 0, [("sample", ev[0])], extra=-4),
    }
    for target, seeds in (("ring_records", ring), ("perf_records", perf)):
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print(f"{d}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
