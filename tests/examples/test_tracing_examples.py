#!/usr/bin/env python3
"""ps and usdt_trace run against this machine; their output is checked against what is known.
usage: test_tracing_examples.py BUILD_EXAMPLES_DIR"""
import os
import re
import subprocess
import sys
import unittest

EXAMPLES = None


def example(*path):
    return os.path.join(EXAMPLES, *path)


class TracingExamples(unittest.TestCase):
    def test_ps_lists_this_process(self):
        r = subprocess.run([example("ps", "ps")], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split(None, 4) for line in r.stdout.splitlines()[1:]]
        ours = [row for row in rows if int(row[0]) == os.getpid()]
        self.assertEqual(len(ours), 1, r.stdout[:2000])
        self.assertEqual(int(ours[0][1]), os.getppid())
        with open("/proc/self/comm") as f:
            self.assertEqual(ours[0][4], f.read().strip())
        self.assertGreater(len(rows), 1)

    def test_ps_bad_arguments_exit_2(self):
        r = subprocess.run([example("ps", "ps"), "--bogus"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)

    def test_usdt_trace_sees_every_tick_with_its_arguments(self):
        n = 100
        target = subprocess.Popen([example("usdt_trace", "usdt_target"), str(n)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            target.stdout.readline()  # it is running, waiting for a line
            tracer = subprocess.Popen([example("usdt_trace", "usdt_trace"), example("usdt_trace", "usdt_target"),
                                       "bpfco_demo:tick", "-p", str(target.pid), "-d", "3"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertIn("tracing bpfco_demo:tick", tracer.stderr.readline())
            target.communicate("go\n", timeout=30)
            out, err = tracer.communicate(timeout=30)
        finally:
            target.kill()
            target.wait()
        print(out[:500], err)
        self.assertEqual(tracer.returncode, 0, err)
        hits = re.findall(r"usdt_target\[(\d+)\] args=2 (-?\d+) (-?\d+) 0$", out, re.M)
        self.assertEqual([(int(p), int(a), int(b)) for p, a, b in hits],
                         [(target.pid, i, i * i) for i in range(1, n + 1)])
        self.assertIn("0 hits dropped", err)

    def test_usdt_trace_names_a_missing_probe(self):
        r = subprocess.run([example("usdt_trace", "usdt_trace"), example("usdt_trace", "usdt_target"),
                            "bpfco_demo:no_such_probe", "-d", "1"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("'bpfco_demo:no_such_probe'", r.stderr)


if __name__ == "__main__":
    EXAMPLES = sys.argv.pop(1)
    unittest.main(verbosity=2)
