#!/usr/bin/env python3
"""monitord's GET /events (issue 27): 100 subscribers reading and one stalled under a flood of
opens, filters, bad filters, drops told in-band, the per-address cap, and SIGTERM ending every
stream. Each test runs monitord in a network namespace of its own.
usage: test_monitord_events.py MONITORD"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import monitord_http as mh
from monitord_http import Monitord, metrics, subscribe
from netns import Netns

MONITORD = None
SANITIZED = False  # set in main: a monitord built with ASan/TSan runs 2-3x slower, its RSS is shadow memory


def sanitized(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return any(lib in out for lib in ("libasan", "libtsan", "libubsan"))
EVENT_READERS = None

# Opens at a steady rate from a process of a chosen comm, the given files in turn (a multiple of
# 100 opens: each file as often); prints how many and in how long.
LOAD = r"""
import os, sys, time
name, paths, rate, seconds = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), float(sys.argv[4])
with open("/proc/self/comm", "w") as f:
    f.write(name)
n, total, start = 0, int(rate * seconds), time.monotonic()
while n < total:
    ahead = start + n / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
    for i in range(100):
        os.close(os.open(paths[i % len(paths)], os.O_RDONLY))
    n += 100
print(n, time.monotonic() - start)
"""


def dropped(m, reason):
    return m[f'monitord_event_stream_dropped_total{{reason="{reason}"}}']


def load(name, path, rate, seconds):
    return subprocess.Popen([sys.executable, "-c", LOAD, name, path, str(rate), str(seconds)],
                            stdout=subprocess.PIPE, text=True)


def readers_start(count, query):
    """event_readers (a C++ helper: Python cannot read 100 such streams) with `count` subscribers."""
    proc = subprocess.Popen([EVENT_READERS, str(mh.PORT), str(count), query], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n", "event_readers did not connect"
    return proc


def readers_finish(proc, due):
    """Tells the readers how many events each is due; returns [(received, told, out_of_order, eof)]."""
    out, _ = proc.communicate(f"{due}\n", timeout=120)
    return [tuple(int(v) for v in line.split()) for line in out.splitlines() if not line.startswith("last ")]


class MonitordEventsTest(unittest.TestCase):
    def setUp(self):
        self.enterContext(Netns("ev"))
        self.tmp = tempfile.mkdtemp(prefix="bpfco_events_")
        self.mon = None

    def tearDown(self):
        if self.mon:
            self.mon.cleanup()
        shutil.rmtree(self.tmp)

    def start(self, *args):
        self.mon = Monitord(MONITORD, *args)
        return self.mon

    def test_100_readers_and_one_stalled_under_a_flood_of_opens(self):
        # Each subscriber matches one open in `files` (one of the files the load opens in
        # turn): 2,000 events/s to each of 100 readers. Two shared cores cannot deliver all
        # 20,000 to each (2 million writes/s; bench/event_stream_bench.py measures how far
        # they go), but every open still passes through the hub and every filter.
        readers, rate, seconds, stall_limit, files = 100, 20000, 10, 2, 10
        if SANITIZED:
            # The sanitized build checks the hub's memory use with 100 readers, not its speed: a
            # quarter of the rate keeps a monitord 2-3x slower answering scrapes.
            rate, seconds = 5000, 6
        rss_bound_mib = 64
        mon = self.start("--max-connections", "300", "--max-connections-per-address", "300",
                         "--event-stall-timeout", str(stall_limit))
        comm = f"evload{os.getpid() % 100000}"
        paths = [os.path.join(self.tmp, f"f{i}") for i in range(files)]
        for p in paths:
            open(p, "w").close()
        query = f"kind=open&comm={comm}&path_prefix={paths[0]}"
        reader = readers_start(readers, query)
        # Connected, asks for every open of the load, never reads: a small receive buffer so
        # that the socket buffers fill early, and then its queue.
        _, stalled, _ = subscribe(f"kind=open&comm={comm}", rcvbuf=4096)
        self.assertEqual(metrics()["monitord_event_subscribers"], readers + 1)

        worker = load(comm, ",".join(paths), rate, seconds)
        latencies, rss, stalled_cut_after = [], [], None
        t0 = time.monotonic()
        while worker.poll() is None or (stalled_cut_after is None and time.monotonic() - t0 < seconds + 10):
            t = time.monotonic()
            m = metrics()
            latencies.append(time.monotonic() - t)
            rss.append(mh.rss_kib(mon.proc.pid))
            if stalled_cut_after is None and m["monitord_event_subscribers_stalled_total"] == 1:
                stalled_cut_after = time.monotonic() - t0
            time.sleep(0.1)
        opened, took = worker.communicate()[0].split()
        opened, took = int(opened), float(took)
        due = opened // files
        tallies = readers_finish(reader, due)
        m = metrics()
        with open(f"/proc/{mon.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        received = [t[0] for t in tallies]
        told = [t[1] for t in tallies]
        print(f"workload: {opened} opens in {took:.2f} s ({opened / took:.0f}/s), {readers} readers due {due} each")
        print(f"per reader: received {min(received)}..{max(received)}, told dropped {min(told)}..{max(told)}; "
              f"monitord sent {m['monitord_event_stream_sent_total']:.0f}, dropped queue_full "
              f"{dropped(m, 'queue_full'):.0f}, disconnected "
              f"{dropped(m, 'disconnected'):.0f}")
        print(f"stalled subscriber cut after {stalled_cut_after} s (limit {stall_limit} s); /metrics latency max "
              f"{max(latencies) * 1000:.1f} ms over {len(latencies)} scrapes; RSS max {max(rss) / 1024:.1f} MiB "
              f"(bound {rss_bound_mib}); monitord CPU {cpu:.1f} s; kernel drops "
              f"{m['monitord_events_dropped_total']:.0f}")
        # A sanitized monitord can fall behind the kernel's ring: those drops are counted there
        # (for any process, so they bound what one reader can miss) and never reach the hub.
        kernel_drops = m["monitord_events_dropped_total"]
        for i, (got, lost, disorder, eof) in enumerate(tallies):
            self.assertFalse(eof, f"reader {i} was disconnected")
            self.assertEqual(disorder, 0, f"reader {i}: ids out of order")
            self.assertLessEqual(got + lost, due, f"reader {i}: {got} received + {lost} told dropped")
            self.assertGreaterEqual(got + lost, due - kernel_drops, f"reader {i}: {got} received + {lost} told dropped")
        if not SANITIZED:
            self.assertEqual(kernel_drops, 0)
        self.assertIsNotNone(stalled_cut_after, "the stalled subscriber was not disconnected")
        self.assertGreaterEqual(stalled_cut_after, stall_limit - 0.5)
        self.assertEqual(m["monitord_event_subscribers_stalled_total"], 1)
        # Sanitized (ASan at -O1 in .ci/sanitize), monitord runs 2-3x slower: the bound checks it
        # still answers during the flood, not how fast (175 ms measured there once).
        self.assertLess(max(latencies), 0.5 if SANITIZED else 0.1)
        if not SANITIZED:  # ASan's shadow memory and quarantine are hundreds of MiB of RSS
            self.assertLess(max(rss), rss_bound_mib * 1024)
        # The stalled one's connection is closed: what it holds ends in EOF (or a reset).
        stalled.settimeout(20 if SANITIZED else 5)
        try:
            while stalled.recv(1 << 16):
                pass
        except ConnectionResetError:
            pass
        stalled.close()

    def test_kind_and_comm_filter_gets_exactly_the_true_execs(self):
        self.start()
        status, s, rest = subscribe("kind=exec&comm=true")
        self.assertEqual(status, 200)
        pids = set()
        for _ in range(50):
            p = subprocess.Popen(["/bin/true"])
            p.wait()
            pids.add(p.pid)
        data, ours, deadline = rest, [], time.time() + 10
        s.settimeout(0.5)
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                if len(ours) == 50:
                    break  # and nothing more came for half a second
                continue
            self.assertTrue(chunk, "stream ended")
            data += chunk
            events = mh.sse_events(data)
            ours = [e for e in events if json.loads(e[2])["pid"] in pids]
        events = [json.loads(e[2]) for e in mh.sse_events(data)]
        others = [e for e in events if e["pid"] not in pids]
        print(f"{len(events)} events: {len(events) - len(others)} from the test's 50 execs, {len(others)} "
              f"execs of true by other processes on this host")
        self.assertEqual(sorted(e["pid"] for e in events if e["pid"] in pids), sorted(pids))
        for e in events:  # anything else that came is still an exec of `true`
            self.assertEqual((e["event"], e["comm"]), ("exec", "true"), e)
        s.close()

    def test_bad_filters_are_400_naming_them(self):
        self.start()
        for query, named in (("kind=exe", "kind 'exe'"), ("kind=exec,,open", "kind ''"), ("pid=12x", "pid '12x'"),
                             ("uid=-1", "uid '-1'"), ("comm=" + "c" * 16, "comm 'cccccccccccccccc'"),
                             ("path_prefix=", "path_prefix ''"), ("format=xml", "format 'xml'"),
                             ("colour=red", "unknown parameter 'colour'"), ("comm=%zz", "comm '%zz'")):
            status, body = mh.get(f"/events?{query}")
            self.assertEqual(status, 400, query)
            self.assertIn(named, body, query)
        status, s, _ = subscribe("kind=exec,open,connect&pid=1&uid=0&comm=a+b&path_prefix=%2Ftmp&format=sse")
        self.assertEqual(status, 200)  # every filter at once, percent-encoded
        s.close()

    def test_ndjson_subscriber_that_falls_behind_is_told_its_drops(self):
        self.start("--event-queue", "16")
        comm = f"evndj{os.getpid() % 100000}"
        target = os.path.join(self.tmp, "opened")
        open(target, "w").close()
        status, s, data = subscribe(f"format=ndjson&comm={comm}&kind=open", rcvbuf=4096)
        self.assertEqual(status, 200)
        kernel_drops = metrics()["monitord_events_dropped_total"]
        worker = load(comm, target, 1000000, 0.05)  # as fast as it goes: 50,000 opens
        # Bounded, as every wait here: a hang (seen once in CI, 300 s, not reproduced) must fail
        # naming the step and the counts instead.
        opened = int(worker.communicate(timeout=60)[0].split()[0])
        # A sanitized monitord can fall behind the kernel's ring: those events are counted there
        # (any process's, so this bounds the test's own), never reach the hub and are not told.
        time.sleep(1)
        kernel_drops = metrics()["monitord_events_dropped_total"] - kernel_drops
        if not SANITIZED:
            self.assertEqual(kernel_drops, 0)
        s.settimeout(20 if SANITIZED else 5)
        received = told = 0
        deadline = time.monotonic() + (120 if SANITIZED else 30)
        while received + told < opened - kernel_drops:
            self.assertLess(time.monotonic(), deadline,
                            f"{opened} opens: only {received} received and {told} told dropped; metrics now: "
                            f"{ {k: v for k, v in metrics().items() if 'dropped' in k or 'mismatch' in k} }")
            chunk = s.recv(1 << 18)
            self.assertTrue(chunk, "stream ended")
            data += chunk
            lines, _, data = data.rpartition(b"\n")
            for line in lines.split(b"\n"):
                if not line:
                    continue  # a heartbeat
                obj = json.loads(line)
                if "dropped" in obj:
                    told += obj["dropped"]
                else:
                    self.assertEqual((obj["event"], obj["comm"]), ("open", comm))
                    received += 1
        m = metrics()
        print(f"{opened} opens: {received} received, {told} told dropped; monitord counted "
              f"{dropped(m, 'queue_full'):.0f}; kernel-side drops {kernel_drops:.0f}")
        self.assertGreaterEqual(received + told, opened - kernel_drops)
        self.assertLessEqual(received + told, opened)
        self.assertGreater(told, 0)
        self.assertEqual(dropped(m, "queue_full"), told)
        s.close()

    def test_subscribers_count_against_the_per_address_cap(self):
        self.start("--max-connections-per-address", "3")
        held = [subscribe("pid=1&kind=connect")[1] for _ in range(3)]
        status, s, _ = subscribe()
        self.assertEqual(status, 503)
        s.close()
        for h in held:
            h.close()  # noticed at once, though no event matched them
        time.sleep(0.2)
        m = metrics()
        self.assertEqual(m['monitord_http_refused_total{reason="over_address_cap"}'], 1)
        self.assertEqual(m["monitord_event_subscribers"], 0)

    def test_sigterm_ends_every_stream(self):
        mon = self.start()
        subs = [subscribe()[1] for _ in range(4)] + [subscribe("format=ndjson")[1] for _ in range(4)]
        time.sleep(0.3)
        rc, took = mon.stop_timed()
        print(f"monitord exited {rc} {took * 1000:.0f} ms after SIGTERM with {len(subs)} streams open")
        self.assertEqual(rc, 0)
        self.assertLess(took, 1.0)
        for s in subs:
            s.settimeout(2)
            while s.recv(1 << 16):
                pass  # ends with EOF, not a timeout or a reset
            s.close()


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("needs root (monitord loads BPF programs)")
        sys.exit(77)
    MONITORD = sys.argv.pop(1)
    EVENT_READERS = sys.argv.pop(1)
    SANITIZED = sanitized(MONITORD)
    unittest.main(verbosity=2)
