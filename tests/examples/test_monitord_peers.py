#!/usr/bin/env python3
"""One peer cannot starve another's scrapes: 1,100 idle connections from 127.0.0.2 get 8 slots
(the per-address cap) and 503 for the rest, while every scrape from 127.0.0.1 is answered 200.
usage: test_monitord_peers.py MONITORD"""
import socket
import time
import unittest

import monitord_http
from monitord_http import PORT, allow_fds, get, metric
from netns import Netns

MONITORD = None

PER_ADDRESS = 8


class MonitordPeersTest(unittest.TestCase):
    def setUp(self):
        self.enterContext(Netns("pe"))

    def test_idle_connections_from_one_address_leave_scrapes_from_another(self):
        n = 1100
        allow_fds(4096)
        mon = monitord_http.Monitord(MONITORD, "--header-timeout", "60", "--idle-timeout", "60")
        conns = []
        try:
            for _ in range(n):
                conns.append(socket.create_connection(("127.0.0.1", PORT), source_address=("127.0.0.2", 0)))
            time.sleep(0.5)
            t0 = time.monotonic()
            statuses = [get(timeout=5)[0] for _ in range(20)]
            took = time.monotonic() - t0
            print(f"{n} idle connections from 127.0.0.2: 20 scrapes from 127.0.0.1 in {took:.2f} s, "
                  f"statuses {sorted(set(statuses))}")
            self.assertEqual(statuses, [200] * 20)
            turned_away = metric('monitord_http_refused_total{reason="over_address_cap"}')
            print(f"{turned_away:.0f} turned away by the per-address cap")
            self.assertEqual(turned_away, n - PER_ADDRESS)
            self.assertEqual(metric('monitord_http_refused_total{reason="over_cap"}'), 0)
        finally:
            for s in conns:
                s.close()
            rc, took = mon.stop_timed()
            mon.cleanup()
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
