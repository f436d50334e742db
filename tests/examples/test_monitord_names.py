#!/usr/bin/env python3
"""File names that forge lines or fields cannot get through monitord's output: while monitord
runs (--json, then plain), this test opens files whose names hold invalid UTF-8, C0/C1 controls,
DEL, U+2028/U+2029, bidi controls and a long name cut in the middle of a character. Every --json
line must parse as JSON, and a Unicode line splitter (str.splitlines, which breaks on U+2028,
U+2029, U+0085, ...) must find exactly the lines a newline splitter finds, in both formats.
usage: test_monitord_names.py MONITORD"""
import json
import os
import tempfile
import time
import unittest

import monitord_http
from netns import Netns

MONITORD = None

NAMES = [
    b"inv\xff\xfealid",
    b"c1\xc2\x9b[31mcsi",
    b"del\x7fx",
    b"ls\xe2\x80\xa8exec    pid=1 ppid=0 uid=0 comm=init filename=/bin/FORGED",
    b"ps\xe2\x80\xa9x",
    b"bidi\xe2\x80\xaegpj.exe",
    b"iso\xe2\x81\xa6x",
    b"nel\xc2\x85x",
    b"esc\x1b[2Jx",
    b"overlong\xc0\xafx",
    "\u00e9".encode() * 200,  # 400 bytes: the 255-byte cut lands inside a character
]


def run_monitord(tmp, *args):
    out = tempfile.TemporaryFile()
    mon = monitord_http.Monitord(MONITORD, *args, stdout=out)
    for name in NAMES:
        path = os.path.join(tmp, name)
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as e:  # a name this file system refuses (too long): opening it is still seen
            print(f"open {name[:20]!r}...: {e.strerror}")
    time.sleep(1.5)
    rc = mon.stop()
    mon.cleanup()
    assert rc == 0
    out.seek(0)
    return out.read()


class MonitordNamesTest(unittest.TestCase):
    def setUp(self):
        self.enterContext(Netns("nm"))
        self.tmp = tempfile.mkdtemp(prefix="bpfco_names_").encode()

    def tearDown(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def check_lines(self, raw, fmt):
        text = raw.decode("utf-8")  # raises on invalid UTF-8
        lines = text.split("\n")[:-1]
        self.assertEqual(len(text.splitlines()), len(lines), f"{fmt}: a Unicode line break inside a line")
        ours = [line for line in lines if "bpfco_names_" in line]
        print(f"{fmt}: {len(lines)} lines, {len(ours)} name our files")
        self.assertGreaterEqual(len(ours), len(NAMES) - 1)
        return ours

    def test_json_lines_parse_and_names_are_escaped(self):
        ours = self.check_lines(run_monitord(self.tmp, "--json"), "json")
        paths = [json.loads(line)["path"] for line in ours]
        for line in ours:  # the characters arrive as \uXXXX escapes, never raw
            for bad in ("\u2028", "\u2029", "\u202e", "\u2066", "\x1b", "\x7f", "\x85", "\x9b"):
                self.assertNotIn(bad, line)
        self.assertTrue(any(p.endswith("\u2026") for p in paths), "the long name is marked as cut")
        self.assertTrue(any("\ufffd" in p for p in paths))

    def test_plain_lines_hold_no_raw_controls(self):
        ours = self.check_lines(run_monitord(self.tmp), "plain")
        for line in ours:
            for bad in ("\u2028", "\u2029", "\u202e", "\u2066", "\x1b", "\x7f", "\x85", "\x9b"):
                self.assertNotIn(bad, line)
        self.assertTrue(any("\\u{2028}" in line for line in ours))


if __name__ == "__main__":
    MONITORD = monitord_http.monitord_argument()
    unittest.main(verbosity=2)
