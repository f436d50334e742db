#!/usr/bin/env python3
"""bpftop --duration 3 --json while a helper runs a program 100,000 times a second: the program is
reported at that rate (within 10 %), and every line parses as JSON."""
import json
import os
import subprocess
import sys

RATE = 100_000


def main():
    bpftop, load = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0:
        print("SKIPPED: bpftop needs root (CAP_SYS_ADMIN)")
        return 0
    loader = subprocess.Popen([load, str(RATE), "8"], stdout=subprocess.PIPE, text=True)
    try:
        ready = loader.stdout.readline().split()
        assert ready and ready[0] == "ready", f"bpftop_load did not start: {ready}"
        prog_id = int(ready[1])
        out = subprocess.run([bpftop, "--duration", "3", "--json"], capture_output=True, text=True,
                             timeout=30)
        print(out.stdout, end="")
        print(out.stderr, end="", file=sys.stderr)
        assert out.returncode == 0, f"bpftop exited with {out.returncode}"
    finally:
        loader.wait(timeout=30)
    assert loader.returncode == 0, f"bpftop_load exited with {loader.returncode}"

    lines = out.stdout.splitlines()
    assert len(lines) == 3, f"expected 3 refreshes in 3 s, got {len(lines)}"
    for line in lines:
        snapshot = json.loads(line)  # every line is one JSON object
        assert 0.9 < snapshot["interval_s"] < 1.5, snapshot["interval_s"]
        ours = [p for p in snapshot["programs"] if p["id"] == prog_id]
        assert len(ours) == 1, f"program {prog_id} missing from {line}"
        p = ours[0]
        assert p["name"] == "introspect_xdp" and p["type"] == "xdp", p
        print(f"program {prog_id}: {p['runs_per_second']:.0f} runs/s, {p['avg_ns']:.0f} ns, "
              f"{p['cpu_percent']:.3f} % CPU")
        assert abs(p["runs_per_second"] - RATE) <= 0.1 * RATE, \
            f"{p['runs_per_second']:.0f} runs/s, expected {RATE} within 10 %"
        assert p["avg_ns"] > 0 and p["cpu_percent"] > 0, p
        shares = [q["cpu_percent"] for q in snapshot["programs"]]
        assert shares == sorted(shares, reverse=True), "programs not sorted by CPU share"
    return 0


if __name__ == "__main__":
    sys.exit(main())
