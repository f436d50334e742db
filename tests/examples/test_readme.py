#!/usr/bin/env python3
"""The README's program: README.md shows examples/readme/readme.cpp verbatim, and the program
runs for a bounded time, reporting the execs this test makes.
usage: test_readme.py SOURCE_ROOT BUILD_EXAMPLES_DIR"""
import os
import re
import subprocess
import sys
import time
import unittest

ROOT = EXAMPLES = None


class Readme(unittest.TestCase):
    def test_readme_shows_the_program_verbatim(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        with open(os.path.join(ROOT, "examples", "readme", "readme.cpp")) as f:
            program = f.read()
        blocks = re.findall(r"```cpp\n(.*?)```", readme, re.S)
        self.assertIn(program, blocks, "README.md's program differs from examples/readme/readme.cpp")

    def test_program_runs_and_stops(self):
        if os.geteuid() != 0:
            self.skipTest("loads BPF programs: needs root")
        proc = subprocess.Popen([os.path.join(EXAMPLES, "readme"), "3"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # Execs until the program stops itself (it runs 3 s once loaded).
        while proc.poll() is None:
            subprocess.run(["/bin/true"], check=True)
            time.sleep(0.1)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertGreaterEqual(len(re.findall(r"exec: pid \d+ uid 0 true", out)), 5, out)
        self.assertTrue(re.search(r"^\d+\.\d execs/s$", out, re.M), out)


if __name__ == "__main__":
    ROOT = os.path.abspath(sys.argv.pop(1))
    EXAMPLES = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
