#!/usr/bin/env python3
"""xdp_counter and tail_calls run for a bounded time; their output is checked against what the
kernel did. usage: test_small_examples.py BUILD_EXAMPLES_DIR"""
import os
import re
import subprocess
import sys
import time
import unittest

from netns import VethPair

EXAMPLES = None


class SmallExamples(unittest.TestCase):
    def test_tail_calls_chain_changes_at_run_time(self):
        r = subprocess.run([os.path.join(EXAMPLES, "tail_calls")], capture_output=True, text=True, timeout=60)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stderr)
        # No filter, filters installed, filter_other removed at run time.
        self.assertEqual(re.findall(r"ARP\s+packet -> (\S+)", r.stdout), ["XDP_PASS", "XDP_DROP", "XDP_PASS"])
        self.assertEqual(re.findall(r"IPv4\s+packet -> (\S+)", r.stdout), ["XDP_PASS"] * 3)
        self.assertIn("packets seen: ipv4 filter 2, ipv6 filter 2, other filter 1, fall-through 4", r.stdout)

    def test_xdp_counter_counts_and_blocks(self):
        with VethPair("x") as net:
            proc = net.popen(net.b, os.path.join(EXAMPLES, "xdp_counter"), net.dev_b, "--block", net.addr_a2,
                             "--duration", "4", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            ok = net.run(net.a, "ping", "-c", "10", "-i", "0.1", "-W", "1", "-I", net.addr_a, net.addr_b, check=False)
            blocked = net.run(net.a, "ping", "-c", "3", "-i", "0.1", "-W", "1", "-I", net.addr_a2, net.addr_b,
                              check=False)
            out, err = proc.communicate(timeout=30)
            print(out, err)
            self.assertEqual(proc.returncode, 0, err)
            self.assertIn(" 0% packet loss", ok.stdout)
            self.assertIn("100% packet loss", blocked.stdout)
            totals = [int(t) for t in re.findall(r"total (\d+) packets", out)]
            self.assertTrue(totals, out)
            # 10 + 3 echo requests arrived on the watched end (replies leave it: not counted).
            self.assertGreaterEqual(totals[-1], 13)
            self.assertLess(totals[-1], 13 + 6)  # a few ARP exchanges at most
            self.assertIn(f"dropping packets from {net.addr_a2}", out)
            self.assertIn("detached from", out)
            self.assertNotIn("xdp", net.run(net.b, "ip", "-d", "link", "show", net.dev_b).stdout)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIPPED: the examples load BPF programs and need root")
        sys.exit(77)
    EXAMPLES = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
