#!/usr/bin/env python3
"""xdp_redirect, xsk_echo and sockmap_splice run for a bounded time in namespaces this test makes
(bpfco_net_ prefix, removed after); their output and the traffic are checked.
usage: test_net_examples.py BUILD_EXAMPLES_DIR"""
import os
import re
import subprocess
import sys
import time
import unittest

EXAMPLES = None


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, text=True, capture_output=True)


def ns_run(ns, *args, check=True):
    return sh("ip", "netns", "exec", ns, *args, check=check)


def ns_python(ns, code):
    return ns_run(ns, sys.executable, "-c", code)


class Namespaces:
    """Namespaces joined by veth pairs with fixed MACs and static neighbours (no ARP, no IPv6)."""

    def __init__(self, names, pairs):
        self.names, self.pairs = names, pairs

    def __enter__(self):
        self.remove()
        for ns in self.names:
            sh("ip", "netns", "add", ns)
            ns_run(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            ns_run(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
            ns_run(ns, "ip", "link", "set", "lo", "up")
        for (ns_a, dev_a, mac_a, ip_a), (ns_b, dev_b, mac_b, ip_b) in self.pairs:
            sh("ip", "-n", ns_a, "link", "add", dev_a, "address", mac_a, "type", "veth", "peer", "name", dev_b,
               "address", mac_b, "netns", ns_b)
            for ns, dev, ip, peer_ip, peer_mac in ((ns_a, dev_a, ip_a, ip_b, mac_b), (ns_b, dev_b, ip_b, ip_a, mac_a)):
                ns_run(ns, "ip", "addr", "add", f"{ip}/24", "dev", dev)
                ns_run(ns, "ip", "link", "set", dev, "up")
                ns_run(ns, "ip", "neigh", "replace", peer_ip, "lladdr", peer_mac, "dev", dev)
        return self

    def __exit__(self, *exc):
        self.remove()

    def remove(self):
        for ns in self.names:
            sh("ip", "netns", "del", ns, check=False)


def rx_packets(ns, dev):
    return int(ns_run(ns, "cat", f"/sys/class/net/{dev}/statistics/rx_packets").stdout)


def popen(ns, *args):
    return subprocess.Popen(["ip", "netns", "exec", ns, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_line(proc, needle, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        line = proc.stdout.readline()
        if needle in line:
            return line
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"no line with {needle!r}: {proc.stderr.read()}")


SEND_UDP = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range({n}):
    s.sendto(b"packet %d" % i, ("{ip}", {port}))
"""

ECHO_CLIENT = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range({n}):
    s.sendto(b"echo %d" % i, ("{ip}", {port}))
    data, peer = s.recvfrom(2048)
    assert data == b"echo %d" % i, data
    assert peer == ("{ip}", {port}), peer
print("echoed", {n})
"""

SPLICE_PEERS = """
import socket, time
backend = socket.socket(); backend.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
backend.bind(("127.0.0.1", {to})); backend.listen(1)
for _ in range(100):
    try:
        client = socket.create_connection(("127.0.0.1", {listen})); break
    except ConnectionRefusedError:
        time.sleep(0.05)
server, _ = backend.accept()
import sys
print("connected", flush=True)
sys.stdin.readline()  # the test says go once the proxy has both sockets in its sockmap
def read_n(s, n):
    out = b""
    s.settimeout(2)
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk: break
        out += chunk
    return out
client.sendall(b"q" * 1000)
assert read_n(server, 1000) == b"q" * 1000
server.sendall(b"r" * 500)
assert read_n(client, 500) == b"r" * 500
print("spliced ok")
time.sleep(2)
"""


class NetExamples(unittest.TestCase):
    def test_xdp_redirect_forwards_all_packets_out_of_the_other_interface(self):
        pairs = [(("bpfco_net_ea", "bpfco_net_ea0", "02:00:00:79:01:01", "10.79.1.1"),
                  ("bpfco_net_em", "bpfco_net_ea1", "02:00:00:79:01:02", "10.79.1.2")),
                 (("bpfco_net_em", "bpfco_net_eb1", "02:00:00:79:02:01", "10.79.2.1"),
                  ("bpfco_net_eb", "bpfco_net_eb0", "02:00:00:79:02:02", "10.79.2.2"))]
        with Namespaces(["bpfco_net_ea", "bpfco_net_em", "bpfco_net_eb"], pairs):
            before = rx_packets("bpfco_net_eb", "bpfco_net_eb0")
            proc = popen("bpfco_net_em", os.path.join(EXAMPLES, "xdp_redirect"), "--from", "bpfco_net_ea1",
                         "--to", "bpfco_net_eb1", "-d", "3")
            wait_for_line(proc, "forwarding")
            ns_python("bpfco_net_ea", SEND_UDP.format(n=20, ip="10.79.1.2", port=9))
            out, err = proc.communicate(timeout=30)
            print(out, err)
            self.assertEqual(proc.returncode, 0, err)
            totals = [int(t) for t in re.findall(r"total (\d+) packets", out)]
            self.assertEqual(totals[-1], 20, out)
            self.assertEqual(rx_packets("bpfco_net_eb", "bpfco_net_eb0") - before, 20)
            self.assertIn("detached from bpfco_net_ea1", out)
            bad = subprocess.run([os.path.join(EXAMPLES, "xdp_redirect"), "--from", "bpfco_net_ea1", "--to",
                                  "bpfco_net_nosuch"], capture_output=True, text=True, timeout=30)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("bpfco_net_nosuch", bad.stderr)

    def test_xsk_echo_answers_from_user_space(self):
        pairs = [(("bpfco_net_ea", "bpfco_net_ea0", "02:00:00:79:01:01", "10.79.1.1"),
                  ("bpfco_net_em", "bpfco_net_ea1", "02:00:00:79:01:02", "10.79.1.2"))]
        with Namespaces(["bpfco_net_ea", "bpfco_net_em"], pairs):
            proc = popen("bpfco_net_em", os.path.join(EXAMPLES, "xsk_echo"), "bpfco_net_ea1", "--port", "9000",
                         "-d", "3")
            wait_for_line(proc, "echoing")
            r = ns_run("bpfco_net_ea", sys.executable, "-c", ECHO_CLIENT.format(n=10, ip="10.79.1.2", port=9000),
                       check=False)
            out, err = proc.communicate(timeout=30)
            self.assertIn("echoed 10", r.stdout, r.stderr)
            print(out, err)
            self.assertEqual(proc.returncode, 0, err)
            self.assertIn("echoed 10 packets", out)
            bad = ns_run("bpfco_net_em", os.path.join(EXAMPLES, "xsk_echo"), "bpfco_net_nosuch", check=False)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("AF_XDP socket on 'bpfco_net_nosuch' queue 0: No such device", bad.stderr)

    def test_sockmap_splice_moves_the_bytes_in_the_kernel(self):
        with Namespaces(["bpfco_net_es"], []):
            proc = popen("bpfco_net_es", os.path.join(EXAMPLES, "sockmap_splice"), "--listen", "47200", "--to",
                         "47201", "-d", "2")
            wait_for_line(proc, "listening")
            peers = subprocess.Popen(["ip", "netns", "exec", "bpfco_net_es", sys.executable, "-c",
                                      SPLICE_PEERS.format(listen=47200, to=47201)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_for_line(peers, "connected")
            wait_for_line(proc, "splicing")
            peers.stdin.write("go\n")
            peers.stdin.flush()
            pout, perr = peers.communicate(timeout=30)
            self.assertIn("spliced ok", pout, perr)
            out, err = proc.communicate(timeout=30)
            print(out, err)
            self.assertEqual(proc.returncode, 0, err)
            self.assertIn("spliced 1000 bytes client -> server, 500 bytes server -> client", out)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIPPED: the examples load BPF programs and need root")
        sys.exit(77)
    EXAMPLES = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
