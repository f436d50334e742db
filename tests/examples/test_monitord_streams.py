#!/usr/bin/env python3
"""monitord never dies from its own output: started with stderr (or stdout) closed, with stderr a
pipe whose reader went away, and with that broken stderr while out of fds under 100 idle
connections, it keeps answering /metrics, counts the log lines it could not write
(monitord_log_dropped_total) and exits 0 on SIGTERM. Each test runs monitord in a network
namespace of its own. usage: test_monitord_streams.py MONITORD"""
import fcntl
import os
import time
import unittest

import monitord_http
import test_monitord_abuse as abuse
from monitord_http import get, metric, scrape_within
from netns import Netns

MONITORD = None


def start(*args, **kw):
    return monitord_http.Monitord(MONITORD, *args, **kw)


def broken_stderr():
    """A pipe for stderr: returns (read end, write end). After the start, the test drains and
    closes the read end, as `monitord 2> >(head -n 4)` does once head is done."""
    r, w = os.pipe()
    fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
    return r, w


def reader_leaves(r):
    try:
        while os.read(r, 65536):
            pass
    except BlockingIOError:
        pass
    os.close(r)


class MonitordStreamsTest(unittest.TestCase):
    def setUp(self):
        self.enterContext(Netns("st"))

    def test_closed_standard_streams_become_dev_null(self):
        for closed in ((2,), (1, 2)):
            with self.subTest(closed=closed):
                mon = start(close=closed)
                try:
                    for fd in closed:
                        self.assertEqual(os.readlink(f"/proc/{mon.proc.pid}/fd/{fd}"), "/dev/null")
                    self.assertEqual(get()[0], 200)
                finally:
                    rc = mon.stop()
                    mon.cleanup()
                print(f"fds {closed} closed at start: /metrics answered, SIGTERM exit {rc}")
                self.assertEqual(rc, 0)

    def test_stderr_reader_gone_then_sigterm_exits_0(self):
        r, w = broken_stderr()
        mon = start(stderr=w)
        os.close(w)
        reader_leaves(r)
        self.assertEqual(get()[0], 200)
        rc = mon.stop()
        mon.cleanup()
        print(f"stderr reader gone, then SIGTERM: exit {rc}")
        self.assertEqual(rc, 0)

    def test_fd_exhaustion_with_broken_stderr_keeps_answering(self):
        r, w = broken_stderr()
        mon = start("--header-timeout", "2", "--max-connections", "1000", stderr=w,
                     prefix=("prlimit", "--nofile=60:60"))
        os.close(w)
        reader_leaves(r)
        conns = []
        try:
            for i in range(100):  # idle: they send nothing, the header timeout cuts them
                conns.append(abuse.client(i))
            time.sleep(0.5)
            self.assertGreaterEqual(abuse.fds(mon.proc.pid), 55, "the fd limit was not reached")
            status, took = scrape_within(30)
            print(f"60 fds, 100 idle connections, stderr broken: /metrics {status} after {took:.1f} s")
            self.assertEqual(status, 200)
            dropped = metric("monitord_log_dropped_total")
            no_fds = metric('monitord_http_refused_total{reason="no_fds"}')
            print(f"monitord_log_dropped_total {dropped:.0f}, no_fds refusals {no_fds:.0f}")
            self.assertGreater(no_fds, 0)
            self.assertGreater(dropped, 0)  # at least the "cannot accept" line
        finally:
            for s in conns:
                s.close()
            rc = mon.stop()
            mon.cleanup()
        print(f"SIGTERM: exit {rc}")
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
