#!/usr/bin/env python3
"""The README's main command: `.ci/monitord --json` writes events only to stdout, so a JSON reader
piped after it parses every line (installing and building print to stderr). Runs the script from
the source tree against its `build/` directory, inside a namespace of its own so its XDP program
sees only that namespace's loopback. usage: test_ci_monitord.py SOURCE_ROOT"""
import json
import os
import subprocess
import sys
import time
import unittest

from netns import VethPair

SOURCE = None


class CiMonitordTest(unittest.TestCase):
    def test_stdout_carries_only_json_events(self):
        if not os.path.exists(os.path.join(SOURCE, "build", "build.ninja")):
            self.skipTest(f"{SOURCE}/build is not configured: .ci/monitord would build the whole tree")
        dry = subprocess.run(["ninja", "-C", os.path.join(SOURCE, "build"), "-n", "examples/monitord/monitord"],
                             capture_output=True, text=True)
        if "no work to do" not in dry.stdout:
            # .ci/test builds build/ first; a tree edited since would make this test a rebuild.
            self.skipTest(f"{SOURCE}/build is out of date: .ci/monitord would rebuild it inside the test")
        # The script runs build/'s monitord; the library path meson sets for this test's own build
        # (build-asan in the sanitizer leg) would load a different libbpfco into it.
        env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
        with VethPair("cim") as net:
            p = net.popen(net.a, os.path.join(SOURCE, ".ci", "monitord"), "--json", "--duration", "4",
                          "--listen", "127.0.0.1:0", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env)
            time.sleep(2)
            for _ in range(20):
                subprocess.run(["/bin/true"])
            out, err = p.communicate(timeout=120)
        print(f"exit {p.returncode}; {len(out.splitlines())} stdout lines; stderr starts {err[:200]!r}")
        self.assertEqual(p.returncode, 0, err)
        lines = out.splitlines()
        self.assertTrue(lines, "no events on stdout")
        for line in lines:
            json.loads(line)  # raises on a line that is not JSON (a build line, a log line)


if __name__ == "__main__":
    SOURCE = sys.argv.pop(1)
    unittest.main(verbosity=2)
