#!/usr/bin/env python3
"""monitord --bpf-stats: its BPF programs' run counts and run time, read from the kernel, are in
the scrape only with the flag, and the XDP program's runs grow exactly as its packet counts do.
usage: test_monitord_bpf_stats.py MONITORD"""
import sys
import unittest

import monitord_http
import test_monitord as tm
from monitord_http import NsMonitord, free_port
from netns import VethPair

XDP_RUNS = 'monitord_bpf_program_runs_total{program="monitord_xdp"}'
XDP_SECONDS = 'monitord_bpf_program_run_seconds_total{program="monitord_xdp"}'


def ingress_packets(m):
    """Every packet the XDP program counted: it runs once per packet received and counts each
    one it can parse, under one protocol."""
    return sum(v for k, v in m.items() if k.startswith('monitord_packets_total{direction="ingress"'))


class MonitordBpfStatsTest(unittest.TestCase):
    def test_program_cost_only_with_the_flag_and_runs_match_packets(self):
        # XDP on the veth, scrapes over lo: no scrape packet passes the XDP program, so nothing
        # arrives between a scrape's packet count and its program read.
        with VethPair("s") as net:
            port = free_port()
            mon = NsMonitord(tm.MONITORD, net, net.b, "--interface", net.dev_b, "--listen", f"127.0.0.1:{port}")
            try:
                mon.wait_ready(port)
                m = mon.metrics(port)
                self.assertFalse([k for k in m if k.startswith("monitord_bpf_program_")], m.keys())
                self.assertEqual(mon.stop(), 0, mon.stderr())
            finally:
                mon.cleanup()

            mon = NsMonitord(tm.MONITORD, net, net.b, "--interface", net.dev_b, "--listen", f"127.0.0.1:{port}",
                              "--bpf-stats")
            try:
                mon.wait_ready(port)
                before = mon.metrics(port)
                self.assertIn(XDP_RUNS, before, mon.stderr())
                # The other attached programs are exported too, each by its function name.
                self.assertIn('monitord_bpf_program_runs_total{program="monitord_tc_egress"}', before)
                sent = 2000
                net.run(net.a, sys.executable, "-c", tm.SENDER, "udp", net.addr_a, net.addr_b, "9003", str(sent))
                after = mon.metrics(port)
                runs = after[XDP_RUNS] - before[XDP_RUNS]
                packets = ingress_packets(after) - ingress_packets(before)
                seconds = after[XDP_SECONDS] - before[XDP_SECONDS]
                print(f"{sent} UDP packets sent: XDP program ran {runs:.0f} times in {seconds * 1e6:.0f} us, "
                      f"counted {packets:.0f} ingress packets")
                self.assertGreaterEqual(packets, sent)
                self.assertEqual(runs, packets)
                self.assertGreater(seconds, 0)
                self.assertIn("BPF run-time statistics on", mon.stderr())
                self.assertEqual(mon.stop(), 0, mon.stderr())
            finally:
                mon.cleanup()


if __name__ == "__main__":
    tm.MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
