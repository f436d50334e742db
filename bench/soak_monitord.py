#!/usr/bin/env python3
"""Soak test for monitord (not a CI test): runs it under a steady event flood for a while and
checks that its memory and open fds stay flat.

The flood: execs (a shell running /bin/true in a loop), file opens (a Python loop), and UDP
between the veth peers of two network namespaces this script makes (and removes), with
monitord's XDP/TC counters on the receiving peer. Every 10 s it samples monitord's RSS (VmRSS)
and open fds. After a warm-up (the first sample at or after 30 s), RSS may grow by at most
--rss-slack-kib and the fd count not at all; otherwise it exits 1.

usage: bench/soak_monitord.py [--monitord PATH] [--duration SECONDS] [--rss-slack-kib N]
(as root; default: build/examples/monitord/monitord for 600 s)
"""
import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "examples"))
from netns import VethPair  # noqa: E402

UDP = r"""
import socket, sys, time
src, dst = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
while True:
    for _ in range(200):
        s.sendto(b"x" * 64, (dst, 9999))
    time.sleep(0.01)   # about 20,000 packets/s
"""
OPENS = r"""
import time
while True:
    for _ in range(200):
        with open("/etc/hostname") as f:
            f.read(1)
    time.sleep(0.01)
"""
EXECS = "while :; do /bin/true; /bin/true; /bin/true; sleep 0.01; done"


def sample(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def main():
    ap = argparse.ArgumentParser()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    ap.add_argument("--monitord", default=os.path.join(root, "build", "examples", "monitord", "monitord"))
    ap.add_argument("--duration", type=int, default=600)
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--rss-slack-kib", type=int, default=2048)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: monitord loads BPF programs and this script makes network namespaces")

    with VethPair("s") as net:
        mon = net.popen(net.b, a.monitord, "--interface", net.dev_b, "--listen", "127.0.0.1:9449",
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        load = []
        try:
            time.sleep(2)
            if mon.poll() is not None:
                sys.exit(f"monitord exited {mon.returncode}: {mon.stderr.read()}")
            load = [net.popen(net.a, sys.executable, "-c", UDP, net.addr_a, net.addr_b),
                    subprocess.Popen([sys.executable, "-c", OPENS]),
                    subprocess.Popen(["sh", "-c", EXECS])]
            start = time.time()
            samples = []
            while time.time() - start < a.duration:
                time.sleep(a.interval)
                if mon.poll() is not None:
                    sys.exit(f"monitord exited {mon.returncode} during the soak: {mon.stderr.read()}")
                t = time.time() - start
                rss, fds = sample(mon.pid)
                samples.append((t, rss, fds))
                print(f"{t:6.0f}s rss={rss} KiB fds={fds}", flush=True)
            metrics = net.run(net.b, "curl", "-sf", "http://127.0.0.1:9449/metrics").stdout
        finally:
            for p in load:
                p.terminate()
            mon.send_signal(signal.SIGTERM)
            rc = mon.wait(timeout=30)
            tail = mon.stderr.read()
    print(tail.strip().splitlines()[-1] if tail.strip() else "")
    for line in metrics.splitlines():
        if line.startswith(("monitord_events_total", "monitord_events_dropped", "monitord_packets_total{direction=\"ingress\"")):
            print(line)
    warm = [s for s in samples if s[0] >= 30] or samples
    rss = [s[1] for s in warm]
    fds = [s[2] for s in warm]
    print(f"soak: {a.duration}s, {len(samples)} samples; after warm-up RSS min {min(rss)} max {max(rss)} KiB "
          f"(growth {max(rss) - rss[0]} KiB, bound {a.rss_slack_kib}); fds min {min(fds)} max {max(fds)}; "
          f"monitord exit {rc}")
    ok = max(rss) - rss[0] <= a.rss_slack_kib and max(fds) == fds[0] and rc == 0
    print("soak:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
