#!/usr/bin/env python3
"""monitord --pin-dir removes only what it pinned, and refuses a DIR it cannot use as a usage error
(exit 2) naming the path and the reason. Runs monitord in a network namespace of its own (its `lo`),
pins under /sys/fs/bpf/bpfco_pn_*, all removed. usage: test_monitord_pins.py MONITORD"""
import os
import shutil
import subprocess
import tempfile
import unittest

import monitord_http
import test_monitord as tm
from netns import Netns, sh

def run(*args):
    r = subprocess.run([tm.MONITORD, *args], capture_output=True, text=True, timeout=60)
    print(f"monitord {' '.join(args)} -> {r.returncode}: {r.stderr.strip()}")
    return r


def pin_foreign_map(path, name="foreign"):
    sh("bpftool", "map", "create", path, "type", "hash", "key", "4", "value", "4", "entries", "1", "name", name)


class PinsTest(unittest.TestCase):
    def setUp(self):
        self.pin_dir = f"/sys/fs/bpf/bpfco_pn_{os.getpid()}"
        self.addCleanup(shutil.rmtree, self.pin_dir, True)
        self.ns = self.enterContext(Netns("pn"))

    def start_and_stop(self):
        """A monitord run that pins its maps and its links on the namespace's lo, then exits."""
        r = run("--listen", f"127.0.0.1:{monitord_http.free_port()}", "--pin-dir", self.pin_dir, "--duration", "1")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_detach_leaves_a_foreign_pin_and_names_it(self):
        self.start_and_stop()
        ours = set(os.listdir(self.pin_dir))
        self.assertTrue({"packets", "xdp_lo", "tc_egress_lo"} <= ours, ours)
        foreign = os.path.join(self.pin_dir, "foreign")
        pin_foreign_map(foreign)
        r = run("--pin-dir", self.pin_dir, "--detach")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(self.pin_dir)), ["created_by_monitord", "foreign"],
                         "detach removed a pin it did not make, or left one of its own")
        self.assertIn(f"left in place, not pinned by monitord: {foreign}", r.stderr)
        self.assertIn("directory kept (it holds pins monitord did not make)", r.stderr)
        self.assertNotIn("xdp", sh("ip", "-d", "link", "show", "lo").stdout, "XDP still attached after --detach")
        # Once the foreign pin is gone, the directory monitord made goes too.
        os.unlink(foreign)
        r = run("--pin-dir", self.pin_dir, "--detach")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(self.pin_dir))

    def test_detach_leaves_a_map_of_monitords_name_but_not_its_making(self):
        os.mkdir(self.pin_dir, 0o700)
        impostor = os.path.join(self.pin_dir, "packets")
        pin_foreign_map(impostor, "packets")
        r = run("--pin-dir", self.pin_dir, "--detach")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.listdir(self.pin_dir), ["packets"])
        self.assertIn(impostor, r.stderr)
        self.assertIn("directory kept (monitord did not create it)", r.stderr)

    def test_detach_refuses_a_directory_not_on_bpffs(self):
        plain = tempfile.mkdtemp(prefix="bpfco_pn_")
        self.addCleanup(shutil.rmtree, plain, True)
        r = run("--pin-dir", plain, "--detach")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertTrue(os.path.isdir(plain), "a directory not on bpffs was removed")
        self.assertIn(f"--pin-dir {plain}: the directory is not on bpffs", r.stderr)
        self.assertIn("mount -t bpf bpf /sys/fs/bpf", r.stderr)
        self.assertNotIn("detached", r.stderr)

    def test_pin_dir_not_on_bpffs_is_a_usage_error_and_creates_nothing(self):
        parent = tempfile.mkdtemp(prefix="bpfco_pn_")
        self.addCleanup(shutil.rmtree, parent, True)
        wanted = os.path.join(parent, "pins")
        r = run("--pin-dir", wanted, "--duration", "1")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"--pin-dir {wanted}: its parent {parent} is not on bpffs", r.stderr)
        self.assertIn("mount -t bpf bpf /sys/fs/bpf", r.stderr)
        self.assertFalse(os.path.exists(wanted))

    def test_pin_dir_with_a_missing_parent_is_a_usage_error(self):
        wanted = f"{self.pin_dir}/missing/pins"
        for extra in (["--duration", "1"], ["--detach"]):
            r = run("--pin-dir", wanted, *extra)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(f"--pin-dir {wanted}: its parent directory {self.pin_dir}/missing: No such file", r.stderr)
        self.assertFalse(os.path.exists(self.pin_dir))

    def test_pin_dir_naming_a_pinned_map_is_a_usage_error(self):
        os.mkdir(self.pin_dir, 0o700)
        pinned = os.path.join(self.pin_dir, "foreign")
        pin_foreign_map(pinned)
        for extra in (["--duration", "1"], ["--detach"]):
            r = run("--pin-dir", pinned, *extra)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(f"--pin-dir {pinned}: a pinned BPF map ('foreign', hash), not a directory", r.stderr)
        self.assertEqual(os.listdir(self.pin_dir), ["foreign"])

    def test_pin_dir_under_ip_netns_exec_says_why_sys_fs_bpf_is_not_bpffs(self):
        r = subprocess.run(["ip", "netns", "exec", self.ns.name, tm.MONITORD, "--pin-dir", self.pin_dir,
                            "--duration", "1"], capture_output=True, text=True, timeout=60)
        print(f"ip netns exec ... monitord --pin-dir {self.pin_dir} -> {r.returncode}: {r.stderr.strip()}")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"--pin-dir {self.pin_dir}: its parent /sys/fs/bpf is not on bpffs but on sysfs", r.stderr)
        self.assertIn(f"this process runs under `ip netns exec {self.ns.name}`", r.stderr)
        self.assertIn(f"nsenter --net=/run/netns/{self.ns.name}", r.stderr)


if __name__ == "__main__":
    tm.MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
