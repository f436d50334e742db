#!/usr/bin/env python3
"""execsnoop, opensnoop and runqlat run for a bounded time while this test makes the execs, opens
and context switches they report; what they print is checked against what the test did.
usage: test_snoops.py BUILD_EXAMPLES_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

EXAMPLES = None
NOBODY = 65534


def tool(name, *args):
    return subprocess.Popen([os.path.join(EXAMPLES, name), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_attached(proc):
    # Each tool says on stderr once its programs are attached.
    line = proc.stderr.readline()
    if "tracing" not in line:
        raise AssertionError(f"tool did not start: {line}{proc.communicate()}")


class Snoops(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bpfco_contract_")
        os.chmod(self.dir, 0o755)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_bad_arguments_exit_2(self):
        for name, args in [("execsnoop", ["-u"]), ("execsnoop", ["-n", "x" * 16]), ("opensnoop", ["-p", "0"]),
                           ("opensnoop", ["--nope"]), ("runqlat", ["-i", "x"]), ("runqlat", ["-d"])]:
            r = subprocess.run([os.path.join(EXAMPLES, name), *args], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 2, (name, args, r.stderr))
            self.assertIn("usage:", r.stderr)

    def test_execsnoop_reports_every_exec(self):
        binary = os.path.join(self.dir, "bpfco_ctr_true")
        shutil.copy("/bin/true", binary)
        proc = tool("execsnoop", "-n", "bpfco_ctr_true", "-d", "4", "--json")
        wait_attached(proc)
        for _ in range(20):
            subprocess.run([binary], check=True)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        events = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(events), 20, out)
        for e in events:
            self.assertEqual(e["comm"], "bpfco_ctr_true")
            self.assertEqual(e["filename"], binary)
            self.assertEqual(e["ret"], 0)
            self.assertEqual(e["uid"], 0)
            self.assertEqual(e["ppid"], os.getpid())

    def _open_as(self, path, times, uid):
        """A shell that waits for a line on stdin, then opens path `times` times itself (a
        redirection of the builtin `:`, so every open is this process's) as uid."""
        def become():
            if uid:
                os.setgid(uid)
                os.setuid(uid)
        script = f'read go; i=0; while [ $i -lt {times} ]; do : < "$0"; i=$((i+1)); done'
        return subprocess.Popen(["/bin/sh", "-c", script, path], stdin=subprocess.PIPE, preexec_fn=become)

    def _run_opensnoop(self, path, make_args):
        with open(path, "w") as f:
            f.write("x")
        os.chmod(path, 0o644)
        root = self._open_as(path, 7, 0)
        nobody = self._open_as(path, 5, NOBODY)
        proc = tool("opensnoop", *make_args(root.pid, nobody.pid), "-d", "4", "--json")
        wait_attached(proc)
        for child in (root, nobody):
            child.communicate(b"go\n", timeout=30)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        mine = [e for e in map(json.loads, out.splitlines()) if e["path"] == path]
        return root.pid, nobody.pid, mine

    def test_opensnoop_pid_filter(self):
        path = os.path.join(self.dir, "bpfco_contract_pid")
        root, nobody, events = self._run_opensnoop(path, lambda r, n: ["-p", str(n)])
        self.assertEqual(len(events), 5, events)
        self.assertTrue(all(e["pid"] == nobody and e["uid"] == NOBODY and e["fd"] >= 0 for e in events), events)

    def test_opensnoop_uid_filter(self):
        path = os.path.join(self.dir, "bpfco_contract_uid")
        root, nobody, events = self._run_opensnoop(path, lambda r, n: ["-u", "0"])
        self.assertEqual(len(events), 7, events)
        self.assertTrue(all(e["pid"] == root and e["uid"] == 0 for e in events), events)

    def test_opensnoop_failed_only(self):
        missing = os.path.join(self.dir, "bpfco_contract_missing")
        present = os.path.join(self.dir, "bpfco_contract_present")
        with open(present, "w"):
            pass
        proc = tool("opensnoop", "-x", "-p", str(os.getpid()), "-d", "3", "--json")
        wait_attached(proc)
        for _ in range(4):
            open(present).close()
            try:
                open(missing)
            except FileNotFoundError:
                pass
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        events = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([e["path"] for e in events], [missing] * 4, out)
        self.assertTrue(all(e["fd"] == -1 and e["err"] == 2 for e in events), events)

    def test_runqlat_histogram_total_equals_samples(self):
        proc = tool("runqlat", "-i", "1", "-d", "3")
        wait_attached(proc)
        # Context switches to measure: short sleeps wake this process up over and over.
        end = time.time() + 2
        while time.time() < end:
            time.sleep(0.001)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(out.count("usecs: "), 3, out)
        last = out.strip().splitlines()[-1]
        hist, samples = [int(x) for x in last.replace(",", "").split() if x.isdigit()]
        self.assertGreater(samples, 100, out)
        self.assertEqual(hist, samples, out)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIPPED: the examples load BPF programs and need root")
        sys.exit(77)
    EXAMPLES = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
