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
import unittest

import monitord_http
from monitord_http import Monitord
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
            mon = Monitord(MONITORD, "--duration", "3",
                           prefix=("setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", "--no-new-privs"))
            try:
                rc = mon.proc.wait(timeout=30)
                err = mon.stderr()
            finally:
                mon.cleanup()
        print(f"bounding set {bounding}: metrics 200, exit {rc}\n{err}")
        self.assertEqual(rc, 0)
        self.assertIn("watching everything", err)
        self.assertIn("running as nobody", err)


if __name__ == "__main__":
    UNIT = os.path.abspath(sys.argv.pop(2))
    MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
