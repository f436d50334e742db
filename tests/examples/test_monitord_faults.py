#!/usr/bin/env python3
"""monitord under faults and with least privilege: refused without capabilities (exit 2, naming
them), an empty effective set once running, metrics on loopback by default, nothing left attached
after SIGKILL, and an interface deleted under its XDP program. usage: test_monitord_faults.py MONITORD"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import monitord_http
from monitord_http import NsMonitord
from netns import VethPair, sh

MONITORD = None
CAP_NET_ADMIN = 1 << 12


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def fdinfo_ids(pid):
    """The BPF links and programs the process holds fds to, from /proc/PID/fdinfo:
    ({link_id: link_type}, {prog_id, ...}) (a link's program counts as held)."""
    links, progs = {}, set()
    d = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                info = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except OSError:
            continue
        if "prog_id" in info:
            progs.add(int(info["prog_id"]))
        if "link_id" in info:
            links[int(info["link_id"])] = info.get("link_type", "?")
    return links, progs


def progs_of(pid):
    return fdinfo_ids(pid)[1]


def listed(kind, ids):
    """Which of these program or link ids the kernel still lists."""
    return {i for i in ids if sh("bpftool", kind, "show", "id", str(i), check=False).returncode == 0}


def wait_gone(ids, kind="prog", timeout=5):
    deadline = time.time() + timeout
    left = set(ids)
    while time.time() < deadline:
        left = listed(kind, ids)
        if not left:
            break
        time.sleep(0.1)
    return left


def tcx_links(pid, ifindex):
    """The process's tcx links on this interface (fdinfo: link_type tcx, ifindex N)."""
    out = []
    d = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(d) if os.path.isdir(d) else []:
        try:
            with open(os.path.join(d, fd)) as f:
                info = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except OSError:
            continue
        if info.get("link_type") == "tcx" and info.get("ifindex") == str(ifindex):
            out.append(int(info["link_id"]))
    return out


def attached(net, ns, dev, pid=None):
    """What the kernel has on the interface: XDP (ip -d link), and monitord's tcx links there or
    netlink TC filters (tc filter show)."""
    link = net.run(ns, "ip", "-d", "link", "show", dev, check=False).stdout
    ifindex = net.run(ns, "cat", f"/sys/class/net/{dev}/ifindex", check=False).stdout.strip()
    tcx = bool(pid and ifindex and tcx_links(pid, ifindex))
    tc = net.run(ns, "tc", "filter", "show", "dev", dev, "egress", check=False).stdout.strip()
    return {"xdp": "prog/xdp" in link, "tc": tcx or bool(tc)}


class MonitordFaultsTest(unittest.TestCase):
    def test_refused_without_capabilities_exit_2_naming_them(self):
        # A copy anyone may run: the build tree may not be reachable for uid 65534.
        d = tempfile.mkdtemp(prefix="bpfco-caps-")
        try:
            os.chmod(d, 0o755)
            exe = os.path.join(d, "monitord")
            shutil.copy(MONITORD, exe)
            os.chmod(exe, 0o755)
            # and the library it links (its rpath points into the build tree)
            src = os.path.join(os.path.dirname(MONITORD), "..", "..", "src")
            for lib in os.listdir(src):
                if lib.startswith("libbpfco.so") and os.path.isfile(os.path.join(src, lib)):
                    shutil.copy(os.path.join(src, lib), d)
                    os.chmod(os.path.join(d, lib), 0o755)
            env = dict(os.environ, LD_LIBRARY_PATH=d)
            r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                                "--bounding-set=-all", exe, "--duration", "2"],
                               capture_output=True, text=True, timeout=30, env=env)
            print(f"as nobody -> {r.returncode}: {r.stderr.strip()}")
            self.assertEqual(r.returncode, 2, r.stderr)
            for cap in ("CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN"):
                self.assertIn(cap, r.stderr)
            # Root, with CAP_NET_ADMIN taken out of the bounding set (so out of what exec grants).
            r = subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin", exe, "--duration", "2"],
                               capture_output=True, text=True, timeout=30, env=env)
            print(f"root without CAP_NET_ADMIN -> {r.returncode}: {r.stderr.strip()}")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("CAP_NET_ADMIN", r.stderr)
            self.assertNotIn("CAP_BPF,", r.stderr.split("(")[0])
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_running_with_no_effective_capabilities_metrics_on_loopback(self):
        with VethPair("c") as net:
            mon = NsMonitord(MONITORD, net, net.b, "--interface", net.dev_b)  # default --listen
            try:
                mon.wait_ready(9435)
                st = status_fields(mon.proc.pid)
                print({k: st[k] for k in ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                                          "NoNewPrivs")})
                # --user defaults to nobody: real, effective, saved and filesystem ids, no groups.
                self.assertEqual(st["Uid"].split(), ["65534"] * 4)
                self.assertEqual(st["Gid"].split(), ["65534"] * 4)
                self.assertEqual(st["Groups"].strip(), "")
                self.assertEqual(int(st["CapEff"], 16), 0)
                self.assertEqual(int(st["CapInh"], 16), 0)
                self.assertEqual(int(st["CapAmb"], 16), 0)
                self.assertEqual(st["NoNewPrivs"].strip(), "1")
                # Permitted (and bounding): nothing, or CAP_NET_ADMIN alone when TC went through netlink.
                kept = int(st["CapPrm"], 16)
                self.assertIn(kept, (0, CAP_NET_ADMIN))
                self.assertEqual(kept == CAP_NET_ADMIN, "CAP_NET_ADMIN kept" in mon.stderr(), mon.stderr())
                self.assertEqual(int(st["CapBnd"], 16) & ~CAP_NET_ADMIN, 0)
                # The only listening socket is the metrics endpoint on 127.0.0.1.
                listening = net.run(net.b, "ss", "-ltnH").stdout.split("\n")
                listening = [line.split()[3] for line in listening if line.strip()]
                print("listening:", listening)
                self.assertEqual(listening, ["127.0.0.1:9435"])
                # Still working without capabilities: packets counted, metrics served.
                net.run(net.a, "ping", "-c", "3", "-i", "0.2", net.addr_b)
                m = mon.metrics(9435)
                self.assertGreaterEqual(m['monitord_packets_total{direction="ingress",protocol="icmp"}'], 3)
                # And the exit detaches everything.
                ids = progs_of(mon.proc.pid)
                self.assertTrue(ids)
                self.assertEqual(mon.stop(signal.SIGTERM), 0, mon.stderr())
                self.assertEqual(wait_gone(ids), set())
                self.assertEqual(attached(net, net.b, net.dev_b), {"xdp": False, "tc": False})
            finally:
                mon.cleanup()

    def test_sigkill_leaves_no_program_attached(self):
        with VethPair("k") as net:
            mon = NsMonitord(MONITORD, net, net.b, "--interface", net.dev_b, "--listen", "127.0.0.1:9436")
            try:
                mon.wait_ready(9436)
                links, ids = fdinfo_ids(mon.proc.pid)
                print(f"monitord holds links {links}, programs {sorted(ids)}; "
                      f"attached: {attached(net, net.b, net.dev_b, mon.proc.pid)}")
                self.assertEqual(attached(net, net.b, net.dev_b, mon.proc.pid), {"xdp": True, "tc": True})
                self.assertTrue(ids)
                mon.proc.send_signal(signal.SIGKILL)
                self.assertEqual(mon.proc.wait(timeout=10), -signal.SIGKILL)
                # Links are fd-owned (XDP and tcx links, perf-event links): the kernel detached them
                # when the process's fds were closed, and freed the programs.
                self.assertEqual(wait_gone(set(links), "link"), set())
                self.assertEqual(wait_gone(ids), set())
                self.assertEqual(attached(net, net.b, net.dev_b), {"xdp": False, "tc": False})
                self.assertEqual(net.run(net.b, "tc", "filter", "show", "dev", net.dev_b, "egress",
                                         check=False).stdout.strip(), "")
            finally:
                mon.cleanup()

    def test_interface_deleted_under_xdp(self):
        with VethPair("d") as net:
            mon = NsMonitord(MONITORD, net, net.b, "--interface", net.dev_b, "--listen", "127.0.0.1:9437", "--json")
            try:
                mon.wait_ready(9437)
                ids = progs_of(mon.proc.pid)
                self.assertTrue(attached(net, net.b, net.dev_b)["xdp"])
                net.run(net.b, "ip", "link", "del", net.dev_b)  # takes its peer with it
                time.sleep(1.5)
                self.assertIsNone(mon.proc.poll(), mon.stderr())
                m = mon.metrics(9437)  # still serving
                self.assertIn("monitord_blocked_packets_total", m)
                subprocess.run(["/bin/true"], check=True)
                self.assertEqual(mon.stop(signal.SIGTERM), 0, mon.stderr())
                print(mon.stderr())
                self.assertEqual(wait_gone(ids), set())
            finally:
                mon.cleanup()


if __name__ == "__main__":
    MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
