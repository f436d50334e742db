#!/usr/bin/env python3
"""examples/monitord/monitord.service: `systemd-analyze verify` finds nothing to say about it, and
monitord starts, serves and stops with exactly the unit's capability bounding set and
NoNewPrivileges (through setpriv: the sandboxing itself needs a running systemd, which this
machine may not have). usage: test_monitord_systemd.py MONITORD UNIT"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import monitord_http
from netns import Netns

MONITORD = UNIT = None


class MonitordSystemdUnitTest(unittest.TestCase):
    def unit_text(self):
        with open(UNIT) as f:
            return f.read()

    def test_systemd_analyze_verify(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed (package systemd)")
        d = tempfile.mkdtemp(prefix="bpfco_monitord_unit_")
        try:
            # verify checks that ExecStart names an executable: point it at the build.
            path = os.path.join(d, "monitord.service")
            with open(path, "w") as f:
                f.write(self.unit_text().replace("/usr/local/bin/monitord", MONITORD))
            r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
            said = [line for line in (r.stdout + r.stderr).splitlines() if "monitord" in line]
            print(f"systemd-analyze verify -> {r.returncode}: {said}")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(said, [])
        finally:
            shutil.rmtree(d)

    def test_runs_with_the_units_bounding_set(self):
        caps = re.search(r"^CapabilityBoundingSet=(.*)$", self.unit_text(), re.M).group(1).split()
        self.assertIn("yes", re.search(r"^NoNewPrivileges=(.*)$", self.unit_text(), re.M).group(1))
        bounding = ",".join(["-all"] + ["+" + c.lower().removeprefix("cap_") for c in caps])
        with Netns("sd"):
            p = subprocess.Popen(["setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", "--no-new-privs",
                                  MONITORD, "--listen", "127.0.0.1:9435", "--duration", "3"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                status, deadline = None, time.time() + 20
                while time.time() < deadline and p.poll() is None:
                    try:
                        with urllib.request.urlopen("http://127.0.0.1:9435/metrics", timeout=1) as r:
                            status = r.status
                            break
                    except OSError:
                        time.sleep(0.1)
                err = p.communicate(timeout=30)[1]
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        print(f"bounding set {bounding}: metrics {status}, exit {p.returncode}\n{err}")
        self.assertEqual(status, 200)
        self.assertEqual(p.returncode, 0)
        self.assertIn("watching everything", err)
        self.assertIn("running as nobody", err)


if __name__ == "__main__":
    UNIT = os.path.abspath(sys.argv.pop(2))
    MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
