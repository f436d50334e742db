#!/usr/bin/env python3
"""monitord end to end: real programs in this kernel, traffic between the veth peers of two
namespaces this test makes, a real Prometheus scraping it. usage: test_monitord.py MONITORD"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

import monitord_http
from monitord_http import NsMonitord, free_port
from netns import VethPair, sh

MONITORD = None

SENDER = r"""
import socket, sys, time
kind, src, dst, port, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    for i in range(count):
        s.sendto(b"x" * 32, (dst, port))
        time.sleep(0.001)
else:
    # Small request/response exchanges with TCP_NODELAY: one skb per segment, nothing coalesced.
    s = socket.create_connection((dst, port), source_address=(src, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(count):
        s.sendall(b"ping")
        assert s.recv(16) == b"ping"
    s.close()
"""

SERVER = r"""
import socket, sys
kind, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    s.settimeout(3)
    got = {}
    try:
        while True:
            data, peer = s.recvfrom(64)
            got[peer[0]] = got.get(peer[0], 0) + 1
    except socket.timeout:
        pass
    print(" ".join(f"{k}={v}" for k, v in sorted(got.items())), flush=True)
else:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4)
    print("ready", flush=True)
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        d = c.recv(16)
        if not d:
            break
        c.sendall(d)
    c.close()
"""


def xdp_attached(net, ns, dev):
    return "xdp" in net.run(ns, "ip", "-d", "link", "show", dev).stdout


class MonitordTest(unittest.TestCase):
    def test_bad_arguments_exit_2_with_a_message(self):
        port = free_port()
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", port))
            busy.listen(1)
            for args, expect in ((["--interface", "nosuch0"], "nosuch0"),
                                 (["--block", "10.0.0.0/40"], "10.0.0.0/40"),
                                 (["--block", "not-an-address"], "not-an-address"),
                                 (["--listen", f"127.0.0.1:{port}"], str(port)),
                                 (["--interface", "lo", "--interface", "lo"], "given twice"),
                                 (["--user", "bpfco-no-such-user"], "bpfco-no-such-user"),
                                 (["--frobnicate"], "--frobnicate")):
                r = subprocess.run([MONITORD, *args, "--duration", "2"], capture_output=True, text=True, timeout=30)
                print(f"monitord {' '.join(args)} -> {r.returncode}: {r.stderr.strip()}")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(expect, r.stderr)
        r = subprocess.run([MONITORD, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--block", r.stdout)

    def test_traffic_blocklist_events_and_prometheus(self):
        with VethPair("m") as net:
            port = free_port()
            mon = NsMonitord(MONITORD, net, net.b, "--interface", net.dev_b, "--block", f"{net.addr_a2}/32",
                           "--listen", f"127.0.0.1:{port}", "--json")
            try:
                mon.wait_ready(port)
                before = net.snmp(net.a)
                udp_ok, udp_blocked, tcp_rounds = 50, 20, 30

                # UDP from the allowed and the blocked address; the receiver counts by source.
                srv = net.popen(net.b, sys.executable, "-c", SERVER, "udp", net.addr_b, "9000",
                                stdout=subprocess.PIPE, text=True)
                time.sleep(0.3)
                net.run(net.a, sys.executable, "-c", SENDER, "udp", net.addr_a, net.addr_b, "9000", str(udp_ok))
                net.run(net.a, sys.executable, "-c", SENDER, "udp", net.addr_a2, net.addr_b, "9000", str(udp_blocked))
                received = srv.communicate(timeout=20)[0].strip()
                self.assertIn(f"{net.addr_a}={udp_ok}", received)
                self.assertNotIn(net.addr_a2, received, "blocked packets were delivered")

                # TCP request/response.
                tsrv = net.popen(net.b, sys.executable, "-c", SERVER, "tcp", net.addr_b, "9001",
                                 stdout=subprocess.PIPE, text=True)
                self.assertEqual(tsrv.stdout.readline().strip(), "ready")
                net.run(net.a, sys.executable, "-c", SENDER, "tcp", net.addr_a, net.addr_b, "9001", str(tcp_rounds))
                tsrv.wait(timeout=20)
                tsrv.stdout.close()
                time.sleep(0.5)  # the last ACK/FIN

                after = net.snmp(net.a)
                udp_sent = after[("Udp", "OutDatagrams")] - before[("Udp", "OutDatagrams")]
                tcp_sent = after[("Tcp", "OutSegs")] - before[("Tcp", "OutSegs")]
                self.assertEqual(udp_sent, udp_ok + udp_blocked)
                m = mon.metrics(port)
                ingress_udp = m['monitord_packets_total{direction="ingress",protocol="udp"}']
                ingress_tcp = m['monitord_packets_total{direction="ingress",protocol="tcp"}']
                print(f"sent udp={udp_sent} tcp={tcp_sent}; monitord saw udp={ingress_udp} tcp={ingress_tcp} "
                      f"blocked={m['monitord_blocked_packets_total']}")
                self.assertEqual(ingress_udp, udp_sent)
                self.assertEqual(ingress_tcp, tcp_sent)
                self.assertEqual(m["monitord_blocked_packets_total"], udp_blocked)
                self.assertGreater(m['monitord_packets_total{direction="egress",protocol="tcp"}'], 0)
                self.assertGreater(m['monitord_bytes_total{direction="ingress",protocol="udp"}'], udp_sent * 32)

                # Execs: N children of one parent, found by ppid in the JSON lines.
                n_exec = 7
                parent = subprocess.Popen(["sh", "-c", f"for i in $(seq {n_exec}); do /bin/true; done"])
                parent.wait()
                # A TCP connect to a loopback listener in this namespace.
                with socket.socket() as lst:
                    lst.bind(("127.0.0.1", 0))
                    lst.listen(1)
                    lport = lst.getsockname()[1]
                    with socket.create_connection(("127.0.0.1", lport)) as client:
                        cport = client.getsockname()[1]
                deadline = time.time() + 10
                while time.time() < deadline:
                    ev = mon.events()
                    execs = [e for e in ev if e["event"] == "exec" and e["ppid"] == parent.pid
                             and e["filename"] == "/bin/true"]
                    conns = [e for e in ev if e["event"] == "connect" and e["dport"] == lport
                             and e["pid"] == os.getpid()]
                    if len(execs) >= n_exec and conns:
                        break
                    time.sleep(0.2)
                self.assertEqual(len(execs), n_exec)
                self.assertEqual(len(conns), 1)
                self.assertEqual(conns[0]["daddr"], "127.0.0.1")
                # The port the kernel gave the client, on every connect mechanism (the tracepoint
                # one reported 0 before it waited for the port).
                self.assertEqual(conns[0]["sport"], cport)
                print("connect event:", json.dumps(conns[0]))
                self.assertTrue(any(e["event"] == "open" for e in ev))

                self.check_prometheus(net, port, udp_blocked)

                # SIGTERM during traffic: exit 0, nothing left attached.
                flood = net.popen(net.a, sys.executable, "-c", SENDER, "udp", net.addr_a, net.addr_b, "9002", "3000")
                time.sleep(0.3)
                self.assertTrue(xdp_attached(net, net.b, net.dev_b))
                # This monitord's programs (other monitord instances may run on the machine).
                progs = set()
                for fd in os.listdir(f"/proc/{mon.proc.pid}/fdinfo"):
                    with open(f"/proc/{mon.proc.pid}/fdinfo/{fd}") as f:
                        progs |= {int(line.split()[1]) for line in f if line.startswith("prog_id:")}
                self.assertTrue(progs)
                self.assertEqual(mon.stop(signal.SIGTERM), 0, mon.stderr())
                flood.wait(timeout=30)
                self.assertFalse(xdp_attached(net, net.b, net.dev_b))
                self.assertEqual(net.run(net.b, "tc", "filter", "show", "dev", net.dev_b, "egress").stdout.strip(), "")
                time.sleep(0.5)  # programs are freed after an RCU grace period
                self.assertEqual([p for p in progs if sh("bpftool", "prog", "show", "id", str(p), check=False).returncode == 0],
                                 [])
                print(mon.stderr())
            finally:
                mon.cleanup()

    def check_prometheus(self, net, port, blocked):
        """A real Prometheus scrapes monitord; the metric comes back through its query API."""
        prom_port = free_port()
        d = tempfile.mkdtemp(prefix="bpfco-prom-")
        try:
            with open(os.path.join(d, "prometheus.yml"), "w") as f:
                f.write(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: monitord\n"
                        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
            prom = net.popen(net.b, "prometheus", f"--config.file={d}/prometheus.yml",
                             f"--storage.tsdb.path={d}/data", f"--web.listen-address=127.0.0.1:{prom_port}",
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                q = urllib.parse.quote("monitord_blocked_packets_total")
                value, deadline = None, time.time() + 60
                while time.time() < deadline:
                    r = net.run(net.b, "curl", "-sf", f"http://127.0.0.1:{prom_port}/api/v1/query?query={q}",
                                check=False)
                    if r.returncode == 0:
                        res = json.loads(r.stdout)["data"]["result"]
                        if res:
                            value = float(res[0]["value"][1])
                            break
                    time.sleep(0.5)
                print(f"Prometheus query monitord_blocked_packets_total = {value}")
                self.assertEqual(value, blocked)
            finally:
                prom.terminate()
                prom.wait(timeout=20)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
