#!/usr/bin/env python3
"""monitord's live page (GET /, issue 27) in headless Chromium: the page follows /events with
EventSource; the test makes 50 execs and reads the page's table from the DOM until it shows all
50 (within 2 s), then keeps a screenshot in the build directory. Chromium is driven through the
DevTools protocol over a pipe (--remote-debugging-pipe: fds 3 and 4, NUL-terminated JSON), so no
port is opened and no client library is needed.
usage: test_monitord_page.py MONITORD BUILD_DIR"""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import monitord_http as mh
from monitord_http import Monitord
from netns import Netns


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


class Chromium:
    """A headless Chromium whose DevTools protocol is spoken over a pipe pair."""

    def __init__(self, binary, profile):
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        def as_3_and_4():
            # The child gets the pipes as fds 3 (commands in) and 4 (answers out); moved above
            # 4 first, so that neither is overwritten by the other's move.
            high_r, high_w = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--window-size=1200,900", "about:blank"],
            preexec_fn=as_3_and_4,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False)
        os.close(to_r)
        os.close(from_w)
        self.pending = b""
        self.next_id = 0

    def call(self, method, session=None, timeout=30, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\0" in self.pending:
                raw, _, self.pending = self.pending.partition(b"\0")
                answer = json.loads(raw)
                if answer.get("id") == self.next_id:
                    if "error" in answer:
                        raise AssertionError(f"{method}: {answer['error']}")
                    return answer["result"]
            chunk = os.read(self.from_r, 1 << 20)
            if not chunk:
                raise AssertionError(f"chromium closed the pipe during {method}")
            self.pending += chunk
        raise AssertionError(f"{method}: no answer within {timeout} s")

    def close(self):
        os.close(self.to_w)
        os.close(self.from_r)
        self.proc.kill()
        self.proc.wait()


def main():
    monitord, build_dir = sys.argv[1:3]
    if os.geteuid() != 0:
        skip("needs root (monitord loads BPF programs)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        skip("no chromium here (Debian's 'chromium' package; .ci/install installs it)")
    png = os.path.join(build_dir, "monitord_page.png")
    work = tempfile.mkdtemp(prefix="bpfco_page_")
    # A copy of true under a name of its own: the page shows only these, whatever else the host runs.
    comm = f"pagetrue{os.getpid() % 100000}"
    program = os.path.join(work, comm)
    shutil.copy("/bin/true", program)
    with Netns("pg"):
        mon = Monitord(monitord)
        browser = Chromium(chromium, os.path.join(work, "profile"))
        try:
            target = browser.call("Target.createTarget", url=f"http://127.0.0.1:{mh.PORT}/?kind=exec&comm={comm}")
            session = browser.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]

            def evaluate(expression):
                return browser.call("Runtime.evaluate", session, expression=expression,
                                    returnByValue=True)["result"].get("value")

            deadline = time.time() + 30
            while evaluate("document.body && document.body.dataset.state") != "open":
                assert time.time() < deadline, "the page's EventSource did not open within 30 s"
                time.sleep(0.05)
            pids = set()
            for _ in range(50):
                p = subprocess.Popen([program])
                p.wait()
                pids.add(p.pid)
            started = time.monotonic()
            rows = []
            while time.monotonic() - started < 2:
                rows = evaluate("Array.from(document.querySelectorAll('#events tr'), "
                                "r => Array.from(r.cells, c => c.textContent))")
                if len(rows) >= 50:
                    break
                time.sleep(0.05)
            took = time.monotonic() - started
            shown = {int(r[2]) for r in rows}
            received, dropped = evaluate("[document.getElementById('received').textContent, "
                                         "document.getElementById('dropped').textContent]")
            print(f"the page showed {len(rows)} rows {took * 1000:.0f} ms after the 50 execs; "
                  f"received {received}, dropped {dropped}")
            assert len(rows) == 50 and shown == pids, f"rows {len(rows)}, pids shown {sorted(shown)}"
            assert all(r[1] == "exec" and r[3] == comm and r[4].startswith(program) for r in rows), rows[:3]
            assert dropped == "0", dropped
            shot = browser.call("Page.captureScreenshot", session, format="png")
            with open(png, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            print(f"screenshot: {png}")
        finally:
            browser.close()
            mon.cleanup()
            shutil.rmtree(work, ignore_errors=True)


main()
