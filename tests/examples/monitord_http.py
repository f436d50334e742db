"""monitord for a test, and its HTTP endpoints from the client side: /metrics scraped and parsed,
GET /events read as Server-Sent Events. Monitord runs one monitord on a fixed port, the test
expected to run inside a Netns of its own (netns.py), so that the port is free; NsMonitord runs
one inside a namespace of a VethPair, for tests whose traffic crosses the pair."""
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

PORT = 9435


def monitord_argument():
    """The MONITORD path, popped from argv[1]; exits 77 (meson's skip) unless root, which
    loading BPF programs needs."""
    if os.geteuid() != 0:
        print("SKIPPED: monitord tests need root")
        sys.exit(77)
    return os.path.abspath(sys.argv.pop(1))


def free_port():
    """A loopback port nobody listens on now, for a test that runs several listeners."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=30, interval=0.2):
    """Calls check() every `interval` s until it returns something true, and returns that; an
    OSError from it counts as not yet. Raises naming `what` and the last answer after `timeout` s."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
        except OSError as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last})")


def get(path="/metrics", timeout=5):
    """One HTTP/1.0 request; returns (status, body as text)."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def parse_metrics(text):
    """A Prometheus text exposition as {'name{labels}': value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def metrics(timeout=5):
    """The /metrics exposition as {'name{labels}': value}."""
    status, body = get(timeout=timeout)
    assert status == 200, f"/metrics answered {status}"
    return parse_metrics(body)


def scrape_within(seconds, timeout=2, interval=0.2):
    """Scrapes /metrics until it answers 200, for up to `seconds`; returns (the last status, None
    if nothing answered, and the seconds taken)."""
    t0 = time.monotonic()
    status = None
    while time.monotonic() - t0 < seconds:
        try:
            status = get(timeout=timeout)[0]
            if status == 200:
                break
        except OSError:
            pass
        time.sleep(interval)
    return status, time.monotonic() - t0


def allow_fds(n):
    """Raises this process's fd limit to at least n, for a test that opens that many connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n), max(hard, n)))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))


def metric(name):
    """One series of /metrics, by name and labels as exposed."""
    for line in get()[1].splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the metrics")


class _Process:
    """A monitord process of a test: its stderr kept in a file unless the test sends it elsewhere
    (`stderr`), the wait until it serves /metrics, its stop and its cleanup."""

    def __init__(self, stderr):
        self.err = None
        if stderr is None:
            self.err = tempfile.NamedTemporaryFile(prefix="bpfco_monitord_", suffix=".log", delete=False)

    def _wait_serving(self, answers, interval):
        """Waits up to 20 s for answers() to be true; raises with its stderr if monitord exits first or
        does not answer in time."""
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"monitord exited {self.proc.returncode}: {self.stderr()}")
            return answers()
        try:
            wait_for("monitord serving /metrics", ready, timeout=20, interval=interval)
        except AssertionError as e:
            if self.proc.poll() is not None:
                raise
            raise AssertionError(f"{e}: {self.stderr()}") from None

    def stderr(self):
        if self.err is None:
            return "(its stderr went where the test sent it)"
        with open(self.err.name) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        """Sends sig; returns the exit status."""
        return self.stop_timed(sig)[0]

    def stop_timed(self, sig=signal.SIGTERM):
        """Sends sig; returns (exit status, seconds until exit). Kills it if it has not exited within 15 s."""
        t = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        return rc, time.monotonic() - t

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.err is not None:
            os.unlink(self.err.name)


class Monitord(_Process):
    """monitord listening on 127.0.0.1:PORT (run through `prefix`, e.g. prlimit), its events on
    `stdout` (default: discarded), its stderr kept unless `stderr` is given, the fds in `close`
    closed in the child; ready once /metrics answers. A start that fails kills it."""

    def __init__(self, binary, *args, prefix=(), stdout=None, stderr=None, close=()):
        def close_fds():
            for fd in close:
                os.close(fd)

        super().__init__(stderr)
        self.proc = subprocess.Popen([*prefix, binary, "--listen", f"127.0.0.1:{PORT}", *args],
                                     stdout=stdout if stdout is not None else subprocess.DEVNULL,
                                     stderr=self.err if self.err is not None else stderr,
                                     preexec_fn=close_fds if close else None)
        try:
            self._wait_serving(lambda: get(timeout=1)[0] == 200, 0.1)
        except BaseException:
            self.cleanup()
            raise


class NsMonitord(_Process):
    """monitord inside namespace `ns` of `net` (a netns.VethPair, or anything with its run and
    popen), for tests whose traffic crosses the veth pair; its stdout (JSON lines) kept in a file,
    its /metrics scraped with curl inside the namespace."""

    def __init__(self, binary, net, ns, *args):
        super().__init__(None)
        self.out = tempfile.NamedTemporaryFile(prefix="monitord-", suffix=".jsonl", delete=False)
        self.net, self.ns = net, ns
        self.proc = net.popen(ns, binary, *args, stdout=self.out, stderr=self.err)

    def _curl(self, port, check):
        return self.net.run(self.ns, "curl", "-sf", f"http://127.0.0.1:{port}/metrics", check=check)

    def wait_ready(self, port):
        self._wait_serving(lambda: self._curl(port, False).returncode == 0, 0.2)

    def metrics(self, port):
        return parse_metrics(self._curl(port, True).stdout)

    def events(self):
        with open(self.out.name) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def cleanup(self):
        super().cleanup()
        os.unlink(self.out.name)


def subscribe(query="", rcvbuf=None, timeout=10):
    """Opens GET /events?query; returns (status, socket, bytes already read past the header)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", PORT))
    s.sendall(f"GET /events{'?' + query if query else ''} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), s, rest


SSE_ID = re.compile(rb"^id: (\d+)$", re.M)
SSE_DROPPED = re.compile(rb'^event: dropped\ndata: \{"dropped":(\d+)\}$', re.M)


class SseTally:
    """Follows one SSE stream without keeping it: the ids in order (checked to increase), their
    count, and the drops the stream told of."""

    def __init__(self, rest=b""):
        self.pending = rest
        self.last_id = 0
        self.received = 0
        self.told = 0
        self.out_of_order = 0

    def feed(self, chunk):
        self.pending += chunk
        end = self.pending.rfind(b"\n\n")
        if end < 0:
            return
        whole, self.pending = self.pending[:end + 2], self.pending[end + 2:]
        ids = [int(i) for i in SSE_ID.findall(whole)]
        for i in ids:
            self.out_of_order += i <= self.last_id
            self.last_id = i
        self.received += len(ids)
        self.told += sum(int(n) for n in SSE_DROPPED.findall(whole))


def sse_events(data):
    """Complete SSE events in data as [(event type, id, data)]."""
    out = []
    for block in data.split(b"\n\n")[:-1]:
        fields = {}
        for line in block.split(b"\n"):
            if line.startswith(b":"):
                continue
            k, _, v = line.partition(b": ")
            fields[k.decode()] = v.decode()
        if fields:
            out.append((fields.get("event", "message"), fields.get("id"), fields.get("data")))
    return out
