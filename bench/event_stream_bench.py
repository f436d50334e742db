#!/usr/bin/env python3
"""monitord's GET /events (issue 27): events per second delivered to 1, 10 and 100 subscribers,
and monitord's CPU per delivered event. A Python loop opens one file as fast as it can for
DURATION seconds under a comm of its own; every subscriber (event_readers, one C++ process
reading them all) asks for exactly those opens. Delivered = events the subscribers received;
what their queues could not hold is dropped and told (counted here too). The reference, run
first in the same session: monitord with no subscriber, its CPU per kernel event consumed.
Runs in a network namespace it makes and removes.
usage: event_stream_bench.py MONITORD EVENT_READERS [DURATION]"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "examples"))
import monitord_http as mh  # noqa: E402
from monitord_http import Monitord, metrics  # noqa: E402
from netns import Netns  # noqa: E402

OPENER = r"""
import os, sys, time
with open("/proc/self/comm", "w") as f:
    f.write(sys.argv[1])
path, end, n = sys.argv[2], time.monotonic() + float(sys.argv[3]), 0
while time.monotonic() < end:
    for _ in range(1000):
        os.close(os.open(path, os.O_RDONLY))
    n += 1000
print(n)
"""


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(monitord, readers_bin, subscribers, duration, work):
    """Returns (opened, delivered, told dropped, kernel drops, wall seconds, monitord CPU seconds)."""
    comm = f"evbench{os.getpid() % 100000}"
    path = os.path.join(work, "opened")
    open(path, "w").close()
    mon = Monitord(monitord, "--max-connections", "300", "--max-connections-per-address", "300",
                   "--event-stall-timeout", "3600")
    try:
        readers = None
        if subscribers:
            readers = subprocess.Popen([readers_bin, str(mh.PORT), str(subscribers), f"kind=open&comm={comm}"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert readers.stdout.readline() == "ready\n"
        cpu0, t0 = cpu_seconds(mon.proc.pid), time.monotonic()  # about when the readers said "ready"
        opened = int(subprocess.run([sys.executable, "-c", OPENER, comm, path, str(duration)],
                                    capture_output=True, text=True, check=True).stdout)
        delivered = told = 0
        wall = time.monotonic() - t0
        if readers:
            # Events the kernel side dropped never come: the readers then wait out their 60 s,
            # so the time taken is theirs, up to the last byte they received.
            out, _ = readers.communicate(f"{opened}\n", timeout=300)
            for line in out.splitlines():
                if line.startswith("last "):
                    wall = max(wall, float(line.split()[1]))
                    continue
                got, lost, _, _ = (int(v) for v in line.split())
                delivered += got
                told += lost
        cpu = cpu_seconds(mon.proc.pid) - cpu0
        kernel_drops = metrics()["monitord_events_dropped_total"]
        return opened, delivered, told, kernel_drops, wall, cpu
    finally:
        mon.cleanup()


def main():
    monitord, readers_bin = sys.argv[1:3]
    duration = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    if os.geteuid() != 0:
        print("SKIP: needs root (monitord loads BPF programs)")
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="bpfco_evbench_") as work, Netns("eb"):
        opened, _, _, drops, wall, cpu = run(monitord, readers_bin, 0, duration, work)
        base_us = cpu / opened * 1e6
        print(f"no subscriber: {opened} opens in {wall:.1f} s, monitord {cpu:.2f} CPU s, {drops:.0f} kernel drops")
        print(f"RESULT events_consumed_no_subscriber_cpu {base_us:.3f} us/event")
        for n in (1, 10, 100):
            opened, delivered, told, drops, wall, cpu = run(monitord, readers_bin, n, duration, work)
            per_us = cpu / delivered * 1e6 if delivered else float("nan")
            print(f"{n} subscribers: {opened} opens ({opened / duration:.0f}/s), {delivered} delivered, {told} told "
                  f"dropped, {drops:.0f} kernel drops, {wall:.1f} s, monitord {cpu:.2f} CPU s")
            print(f"RESULT events_delivered_{n}_subscribers {delivered / wall:.0f} events/s")
            print(f"RESULT cpu_per_delivered_event_{n}_subscribers {per_us:.3f} us/event")
            # Less what the same opens cost with no subscriber: what the fan-out itself adds.
            extra_us = (cpu - base_us * opened / 1e6) / delivered * 1e6 if delivered else float("nan")
            print(f"RESULT fanout_cpu_per_delivered_event_{n}_subscribers {extra_us:.3f} us/event")
            # Deliveries per monitord CPU-second against kernel events consumed per CPU-second
            # with no subscriber (above 1: a delivery costs less than consuming the event did).
            print(f"RATIO delivered_vs_consumed_per_cpu_{n}_subscribers {base_us / per_us:.2f}")


main()
