#!/usr/bin/env python3
"""monitord attacked from the same host (issue 12): idle and slow HTTP clients, fd exhaustion,
SIGTERM during a half-sent request, a stdout nobody reads, forged log lines, a listener beyond
loopback, and a real Prometheus scraping through all of it. Each test runs monitord in a network
namespace of its own (XDP/TC on that namespace's lo), with short timeouts set by options.
usage: test_monitord_abuse.py MONITORD"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import monitord_http
from monitord_http import PORT, allow_fds, get, metric, scrape_within
from netns import Netns, sh

MONITORD = None


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client(i, timeout=None):
    """The i-th of many connections, eight from each loopback address 127.1.x.y (monitord's
    per-address cap), none from 127.0.0.1, where the test scrapes."""
    n = i // 8
    return socket.create_connection(("127.0.0.1", PORT), timeout=timeout,
                                    source_address=(f"127.1.{n // 250}.{1 + n % 250}", 0))


def raw(request, timeout=5):
    """Sends bytes, returns the status line (b'' when the connection was closed unanswered)."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=timeout) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return s.recv(4096).split(b"\r\n")[0]
        except ConnectionResetError:
            return b""


def Monitord(*args, **kw):
    return monitord_http.Monitord(MONITORD, *args, **kw)


class MonitordAbuseTest(unittest.TestCase):
    def setUp(self):
        self.enterContext(Netns("ab"))

    def test_idle_connections_closed_by_the_idle_timeout(self):
        n = 1000
        allow_fds(4096)
        # 3 s, not 1: opening and reading 1,000 connections took over 1 s under ASan in CI, and
        # the first ones were closed before the count.
        idle = 3
        mon = Monitord("--idle-timeout", str(idle), "--header-timeout", "1", "--max-connections", "2000",
                       prefix=("prlimit", "--nofile=4096"))
        conns = []
        try:
            time.sleep(0.3)
            baseline = fds(mon.proc.pid)
            start = time.time()
            for i in range(n):
                s = client(i)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive, then idle
                conns.append(s)
            for s in conns:  # each got its answer and stays open
                s.settimeout(5)
                self.assertTrue(s.recv(12).startswith(b"HTTP/1.1 200"))
            held = fds(mon.proc.pid)
            print(f"monitord fds: {baseline} before, {held} with {n} idle keep-alive connections "
                  f"(opened and answered in {time.time() - start:.2f} s)")
            self.assertGreaterEqual(held, baseline + n - 5)
            wait = idle + 5
            deadline = time.time() + wait
            while time.time() < deadline and fds(mon.proc.pid) > baseline:
                time.sleep(0.1)
            after = fds(mon.proc.pid)
            print(f"monitord fds {time.time() - deadline + wait:.1f} s later: {after}")
            self.assertLessEqual(after, baseline)
            closed = 0
            for s in conns:
                s.settimeout(0.5)
                try:
                    while s.recv(65536):
                        pass
                    closed += 1
                except OSError:
                    pass
            self.assertEqual(closed, n)
            self.assertEqual(get()[0], 200)
        finally:
            for s in conns:
                s.close()
            mon.cleanup()

    def test_slowloris_cut_within_the_header_timeout_and_bad_requests_answered(self):
        mon = Monitord("--header-timeout", "1")
        try:
            self.assertEqual(metric("monitord_output_dropped_total"), 0)  # stdout keeps up here
            with socket.create_connection(("127.0.0.1", PORT)) as s:
                request = b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 100
                start, sent, cut = time.monotonic(), 0, None
                try:
                    for byte in request:
                        s.sendall(bytes([byte]))
                        sent += 1
                        time.sleep(0.1)
                        s.setblocking(False)
                        try:
                            if s.recv(1) == b"":
                                cut = time.monotonic() - start
                                break
                        except BlockingIOError:
                            pass
                        finally:
                            s.setblocking(True)
                except (BrokenPipeError, ConnectionResetError):
                    cut = time.monotonic() - start
            print(f"slowloris: cut after {cut:.2f} s and {sent} of {len(request)} bytes (header timeout 1 s)")
            self.assertIsNotNone(cut, "a one-byte-every-100-ms client was never cut")
            self.assertLess(cut, 3)

            answers = {
                "malformed": raw(b"GARBAGE\r\n\r\n"),
                "header too large": raw(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 100000 + b"\r\n\r\n"),
                "with a body": raw(b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
                "chunked body": raw(b"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                "other method": raw(b"DELETE /metrics HTTP/1.1\r\n\r\n"),
                "other target": raw(b"GET /nope HTTP/1.1\r\n\r\n"),
            }
            print(answers)
            self.assertEqual(answers["malformed"], b"HTTP/1.1 400 Bad Request")
            self.assertEqual(answers["header too large"], b"HTTP/1.1 431 Request Header Fields Too Large")
            self.assertEqual(answers["with a body"], b"HTTP/1.1 413 Payload Too Large")
            self.assertEqual(answers["chunked body"], b"HTTP/1.1 413 Payload Too Large")
            self.assertEqual(answers["other method"], b"HTTP/1.1 405 Method Not Allowed")
            self.assertEqual(answers["other target"], b"HTTP/1.1 404 Not Found")
            self.assertEqual(get()[0], 200)
            self.assertEqual(metric('monitord_http_refused_total{reason="header_timeout"}'), 1)
            self.assertEqual(metric('monitord_http_refused_total{reason="bad_request"}'), 4)
        finally:
            mon.cleanup()

    def test_connections_past_the_cap_get_503(self):
        mon = Monitord("--max-connections", "5", "--header-timeout", "10")
        held = []
        try:
            for _ in range(5):
                held.append(socket.create_connection(("127.0.0.1", PORT)))
            time.sleep(0.3)
            self.assertEqual(raw(b"GET /metrics HTTP/1.0\r\n\r\n"), b"HTTP/1.1 503 Service Unavailable")
            over_cap = 1
            for s in held:
                s.close()
            held.clear()
            deadline, status = time.time() + 5, None
            while time.time() < deadline and status != 200:
                try:
                    status = get(timeout=1)[0]
                except OSError:  # a 503 may come as a reset when the request arrives after the answer
                    pass
                if status != 200:
                    over_cap += 1
                time.sleep(0.1)
            self.assertEqual(status, 200)
            self.assertEqual(metric('monitord_http_refused_total{reason="over_cap"}'), over_cap)
        finally:
            for s in held:
                s.close()
            mon.cleanup()

    def test_fd_exhaustion_backs_off_and_recovers(self):
        # The limit is set at start (a process already running as nobody is out of prlimit's
        # reach here): a first run measures how many fds monitord holds idle.
        mon = Monitord()
        try:
            baseline = fds(mon.proc.pid)
        finally:
            mon.cleanup()
        limit = baseline + 20
        mon = Monitord("--header-timeout", "60", "--max-connections", "1000", prefix=("prlimit", f"--nofile={limit}"))
        conns = []
        try:
            for i in range(40):  # 20 of them fill the table, the rest wait in the backlog
                conns.append(client(i))
            time.sleep(0.5)
            self.assertGreaterEqual(fds(mon.proc.pid), limit - 1)
            t0, c0 = time.monotonic(), cpu_seconds(mon.proc.pid)
            time.sleep(2)
            cpu = (cpu_seconds(mon.proc.pid) - c0) / (time.monotonic() - t0)
            print(f"fd limit {limit} reached: monitord used {cpu:.1%} of a core over 2 s")
            self.assertLess(cpu, 0.2, "the accept loop spins on EMFILE")
            for s in conns:
                s.close()
            conns.clear()
            self.assertEqual(scrape_within(5, timeout=1, interval=0.1)[0], 200)
            err = mon.stderr()
            print(err)
            self.assertEqual(err.count("cannot accept HTTP connections"), 1)
            no_fds = metric('monitord_http_refused_total{reason="no_fds"}')
            print(f"monitord_http_refused_total{{reason=\"no_fds\"}} {no_fds:.0f}")
            self.assertGreater(no_fds, 0)
            self.assertIn("accepting HTTP connections again", err)
        finally:
            for s in conns:
                s.close()
            mon.cleanup()

    def test_sigterm_with_half_sent_requests_exits_within_1_s(self):
        mon = Monitord()  # default timeouts: 5 s header, 15 s idle
        conns = []
        try:
            for i in range(20):
                s = socket.create_connection(("127.0.0.1", PORT))
                if i % 2:
                    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: half")
                conns.append(s)
            time.sleep(0.3)
            rc, took = mon.stop_timed()
            print(f"SIGTERM with 20 idle or half-sent clients: exit {rc} after {took:.3f} s")
            self.assertEqual(rc, 0, mon.stderr())
            self.assertLess(took, 1.0)
        finally:
            for s in conns:
                s.close()
            mon.cleanup()

        # A second signal during the shutdown (detaching takes a few hundred ms here) ends it at
        # once: the first one gave SIGTERM its default action back. Whether the second lands
        # before the shutdown is over is up to the scheduler, so both outcomes pass.
        mon = Monitord()
        try:
            mon.proc.send_signal(signal.SIGTERM)
            deadline = time.time() + 5
            while "SIGTERM received" not in mon.stderr() and time.time() < deadline:
                time.sleep(0.005)
            rc, took = mon.stop_timed()
            print(f"second SIGTERM during the shutdown: exit {rc} after {took:.3f} s "
                  f"({'killed by it' if rc == -signal.SIGTERM else 'the shutdown had finished'})")
            self.assertIn(rc, (0, -signal.SIGTERM))
            self.assertLess(took, 1.0)
        finally:
            mon.cleanup()

    def test_stdout_a_full_pipe_scrapes_answer_sigterm_exits_drops_counted(self):
        r, w = os.pipe()  # nobody reads r
        try:
            mon = Monitord("--output-queue", "100", stdout=w)
        finally:
            os.close(w)
        try:
            # Open events: far more than a 64 KiB pipe and a 100-line queue hold.
            d = tempfile.mkdtemp(prefix="bpfco_monitord_abuse_")
            try:
                path = os.path.join(d, "f")
                with open(path, "w"):
                    pass
                for _ in range(5000):
                    with open(path):
                        pass
            finally:
                shutil.rmtree(d)
            time.sleep(0.5)
            worst = 0
            for _ in range(10):
                t = time.monotonic()
                self.assertEqual(get(timeout=2)[0], 200)
                worst = max(worst, time.monotonic() - t)
            dropped = metric("monitord_output_dropped_total")
            print(f"stdout a full pipe: 10 scrapes, slowest {worst * 1000:.1f} ms; {dropped:.0f} lines dropped")
            self.assertGreater(dropped, 0)
            rc, took = mon.stop_timed()
            print(f"SIGTERM: exit {rc} after {took:.3f} s; {mon.stderr().splitlines()[-1]}")
            self.assertEqual(rc, 0, mon.stderr())
            self.assertLess(took, 1.0)
            self.assertRegex(mon.stderr(), r"[1-9][0-9]* lines not printed")
        finally:
            os.close(r)
            mon.cleanup()

    def test_forged_newline_in_a_file_name_stays_on_one_escaped_line(self):
        out = tempfile.NamedTemporaryFile(prefix="bpfco_monitord_abuse_", suffix=".out", delete=False)
        d = tempfile.mkdtemp(prefix="bpfco_monitord_abuse_")
        mon = Monitord(stdout=out)  # log lines, not JSON
        try:
            # Any user can do this; the file need not exist: the open is logged with its result.
            forged = os.path.join(d, "x\nexec    pid=1 ppid=0 uid=0 comm=init filename=/bin/FORGED")
            subprocess.run(["cat", forged], capture_output=True)
            deadline = time.time() + 10
            lines = []
            while time.time() < deadline:
                with open(out.name) as f:
                    lines = [line for line in f if "FORGED" in line]
                if any(line.startswith("open") and "comm=cat" in line for line in lines):
                    break
                time.sleep(0.2)
            print("".join(lines))
            self.assertTrue(lines)
            for line in lines:
                self.assertTrue(line.startswith("open ") or line.startswith("exec "), line)
                self.assertIn('"' + d + '/x\\nexec    pid=1 ppid=0 uid=0 comm=init filename=/bin/FORGED"', line)
            with open(out.name) as f:
                self.assertFalse([line for line in f if line.startswith("exec    pid=1 ppid=0")])
        finally:
            mon.cleanup()
            shutil.rmtree(d)
            os.unlink(out.name)

    def test_listen_beyond_loopback_warns_ipv6_bracketed_duplicate_interface_refused(self):
        r = subprocess.run([MONITORD, "--listen", "[::]:9436", "--duration", "1"], capture_output=True, text=True,
                           timeout=30)
        print(r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("WARNING: --listen [::]:9436 serves the metrics beyond this host", r.stderr)
        self.assertIn("metrics on http://[::]:9436/metrics", r.stderr)
        r = subprocess.run([MONITORD, "--listen", "[::1]:9436", "--duration", "1"], capture_output=True, text=True,
                           timeout=30)
        self.assertNotIn("WARNING", r.stderr)
        self.assertIn("metrics on http://[::1]:9436/metrics", r.stderr)
        sh("ip", "link", "property", "add", "dev", "lo", "altname", "bpfco_md_alt")  # this namespace's lo
        for args, expect in ((["--interface", "lo", "--interface", "lo"], "--interface lo: given twice"),
                             (["--interface", "lo", "--interface", "bpfco_md_alt"],
                              "--interface bpfco_md_alt: the same interface as --interface lo"),
                             (["--user", "bpfco_monitord_nosuchuser"], "--user bpfco_monitord_nosuchuser: no such user")):
            r = subprocess.run([MONITORD, *args, "--duration", "1"], capture_output=True, text=True, timeout=30)
            print(f"{' '.join(args)} -> {r.returncode}: {r.stderr.strip()}")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(expect, r.stderr)

    def test_prometheus_keeps_scraping_while_the_abuse_runs(self):
        if not shutil.which("prometheus"):
            self.skipTest("prometheus is not installed")
        mon = Monitord("--header-timeout", "1", "--idle-timeout", "1")
        stop = threading.Event()
        counts = {"slowloris": 0, "bad": 0}

        def slowloris(i):
            while not stop.is_set():
                try:
                    with client(i, timeout=3) as s:
                        while not stop.is_set():
                            s.sendall(b"G")
                            time.sleep(0.2)
                except OSError:
                    counts["slowloris"] += 1  # cut by the header timeout

        def bad_requests():
            while not stop.is_set():
                for req in (b"GARBAGE\r\n\r\n", b"POST /metrics HTTP/1.1\r\nContent-Length: 9\r\n\r\n",
                            b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n"):
                    try:
                        raw(req, timeout=2)
                        counts["bad"] += 1
                    except OSError:
                        pass
                time.sleep(0.05)

        d = tempfile.mkdtemp(prefix="bpfco_monitord_abuse_prom_")
        prom = None
        threads = [threading.Thread(target=slowloris, args=(i,)) for i in range(20)] + [threading.Thread(target=bad_requests)]
        try:
            with open(os.path.join(d, "prometheus.yml"), "w") as f:
                f.write(f"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                        f"  - job_name: monitord\n    static_configs:\n      - targets: ['127.0.0.1:{PORT}']\n")
            prom = subprocess.Popen(["prometheus", f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/data",
                                     "--web.listen-address=127.0.0.1:9090"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for t in threads:
                t.start()
            time.sleep(12)
            q = urllib.parse.quote('up{job="monitord"}[30s]')
            samples = []
            deadline = time.time() + 20
            while time.time() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", 9090), timeout=2) as s:
                        s.sendall(f"GET /api/v1/query?query={q} HTTP/1.0\r\n\r\n".encode())
                        body = b""
                        while chunk := s.recv(65536):
                            body += chunk
                    res = json.loads(body.partition(b"\r\n\r\n")[2])["data"]["result"]
                    if res and len(res[0]["values"]) >= 5:
                        samples = [v for _, v in res[0]["values"]]
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(0.5)
            print(f"during the abuse ({counts['slowloris']} slowloris connections cut, {counts['bad']} bad "
                  f"requests answered): Prometheus scrapes up = {samples}")
            self.assertGreaterEqual(len(samples), 5)
            self.assertEqual(set(samples), {"1"})
            self.assertGreater(counts["slowloris"], 0)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=10)
            if prom:
                prom.terminate()
                prom.wait(timeout=20)
            shutil.rmtree(d, ignore_errors=True)
            mon.cleanup()


if __name__ == "__main__":
    MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
