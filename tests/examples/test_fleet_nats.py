#!/usr/bin/env python3
"""Three monitords publishing to one nats-server's JetStream stream, the server killed and
restarted mid-run (docs/fleet.md).

usage: test_fleet_nats.py MONITORD [NATS_STREAM_DUMP]

Everything runs in one network namespace this test makes (and removes): nats-server on its
loopback, three monitords (--host fleet1..3, each counting packets on its own veth pair made in
the namespace, since one interface takes one XDP program). The kernel's exec, open and connect
events are seen by every monitord, so each host must publish every event of the known workload:
50 execs of a uniquely named copy of true, 50 opens of a unique path and 20 TCP connects to a
loopback listener, in each of four phases: before, while and after the nats-server is down (it
is SIGKILLed and restarted on the same file storage), then after one monitord is restarted with
the same --host (its sequence starts again: its message ids must still be new). Each host's
events must all be in the stream (missing ones no more than the drops that monitord counted and
exported), none stored twice (message ids unique), read back by NATS_STREAM_DUMP (a libnats
client: Debian 12 has no Python one).
"""
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request

from monitord_http import free_port, parse_metrics, wait_for
from netns import Netns, sh

HOSTS = ["fleet1", "fleet2", "fleet3"]
STREAM = "FLEET"
PER_PHASE = {"exec": 50, "open": 50, "connect": 20}
PHASES = 4  # before, while and after the nats-server is down, then after a monitord restart


def skip(reason):
    print(f"SKIPPED: fleet_nats: {reason}")
    sys.exit(77)


def scrape(port):
    """{'name{labels}': value} of a monitord's /metrics, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    return parse_metrics(text)


class NatsServer:
    def __init__(self, store, port):
        self.store, self.port, self.proc = store, port, None

    def start(self):
        self.proc = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(self.port), "-js",
                                      "-sd", self.store], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            assert self.proc.poll() is None, f"nats-server exited {self.proc.returncode}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for("nats-server listening", up)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def workload(true_copy, marker, listener):
    subprocess.run(["sh", "-c", f"for i in $(seq {PER_PHASE['exec']}); do {true_copy}; done"], check=True)
    for _ in range(PER_PHASE["open"]):
        os.close(os.open(marker, os.O_RDONLY))
    for _ in range(PER_PHASE["connect"]):
        socket.create_connection(listener.getsockname()).close()
        listener.accept()[0].close()


def main():
    monitord = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        skip("monitord needs root")
    if not shutil.which("nats-server"):
        skip("no nats-server (apt-get install nats-server; .ci/install has it)")
    if len(sys.argv) < 3:
        skip("monitord was built without libnats (apt-get install libnats-dev; .ci/install has it)")
    dump = os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="bpfco_fleet_nats_")
    mons, server = [], None
    try:
        with Netns("fleet") as ns, socket.socket() as listener:
            for i, host in enumerate(HOSTS):
                sh("ip", "link", "add", f"fl{i}a", "type", "veth", "peer", "name", f"fl{i}b")
                sh("ip", "link", "set", f"fl{i}a", "up")
                sh("ip", "link", "set", f"fl{i}b", "up")
            # Made before any monitord watches: only the workload's execs and opens are seen.
            true_copy = os.path.join(tmp, "fleet_true")
            shutil.copy("/bin/true", true_copy)
            marker = os.path.join(tmp, "fleet_marker")
            open(marker, "w").close()
            nats_port = free_port()
            server = NatsServer(os.path.join(tmp, "jetstream"), nats_port)
            server.start()
            url = f"nats://127.0.0.1:{nats_port}"
            ports = [free_port() for _ in HOSTS]

            def start_monitord(i):
                log = open(os.path.join(tmp, f"{HOSTS[i]}.log"), "a")
                p = subprocess.Popen([monitord, "--interface", f"fl{i}a", "--listen", f"127.0.0.1:{ports[i]}",
                                      "--nats", url, "--nats-stream", STREAM, "--host", HOSTS[i],
                                      "--duration", "240"], stdout=subprocess.DEVNULL, stderr=log)
                # Connected, and the stream made or found: the first events stored (an open of the
                # temp dir makes one on a quiet machine; the workload's paths are longer).
                def publishing():
                    os.close(os.open(tmp, os.O_RDONLY))
                    return (scrape(ports[i]) or {}).get("monitord_nats_published_total", 0) > 0
                wait_for(f"{HOSTS[i]} publishing", publishing)
                return p
            mons.extend(start_monitord(i) for i in range(len(HOSTS)))

            def drops(m):
                return m["monitord_nats_dropped_total{reason=\"queue_full\"}"] + m["monitord_events_dropped_total"]

            # Every event up to the workload's last has its sequence number; once each monitord has
            # published or dropped that many, the workload's are in (the noise of the machine's
            # other processes never lets the queues empty).
            def caught_up():
                seen = [sum(v for k, v in wait_for("a scrape", lambda: scrape(p)).items()
                            if k.startswith("monitord_events_total{")) for p in ports]

                def done():
                    s = [scrape(p) or {} for p in ports]
                    return all(m.get("monitord_nats_connected") == 1 and
                               m["monitord_nats_published_total"] + drops(m) >= n for m, n in zip(s, seen)) and s
                return wait_for("every monitord publishing what it saw up to the workload's end", done,
                                timeout=90, interval=0.5)

            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            lport = listener.getsockname()[1]

            workload(true_copy, marker, listener)
            server.kill()
            print("nats-server killed")
            wait_for("monitords seeing the connection lost",
                     lambda: all((scrape(p) or {}).get("monitord_nats_connected") == 0 for p in ports))
            workload(true_copy, marker, listener)
            server.start()
            print("nats-server restarted on the same store")
            workload(true_copy, marker, listener)
            before_restart = caught_up()

            # A restarted monitord numbers its events from 1 again: its message ids must still be
            # new to JetStream (they carry its start time), or de-duplication would drop its events.
            mons[0].send_signal(signal.SIGTERM)
            assert mons[0].wait(timeout=20) == 0, f"{HOSTS[0]} exited {mons[0].returncode}"
            mons[0] = start_monitord(0)
            print(f"{HOSTS[0]} restarted")
            workload(true_copy, marker, listener)
            final = caught_up()
            for m in mons:
                assert m.poll() is None, f"a monitord exited {m.returncode}"

            r = subprocess.run([dump, url, STREAM, true_copy, marker, f'"dport":{lport},'],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            lines = [json.loads(line) for line in r.stdout.splitlines()]
            summary, msgs = lines[-1], lines[:-1]
            assert summary["repeated_ids"] == 0, f"message ids stored more than once: {summary}"
            assert summary["without_id"] == 0, f"messages without a Nats-Msg-Id: {summary}"
            ids = collections.Counter(m["id"] for m in msgs)
            assert max(ids.values()) == 1

            want = {k: v * PHASES for k, v in PER_PHASE.items()}
            for i, host in enumerate(HOSTS):
                mine = [m for m in msgs if m["subject"].startswith(f"monitord.{host}.")]
                ev = [m["event"] for m in mine]
                got = {
                    "exec": sum(e["event"] == "exec" and e["filename"] == true_copy for e in ev),
                    "open": sum(e["event"] == "open" and e["path"] == marker and e["result"] >= 0 for e in ev),
                    "connect": sum(e["event"] == "connect" and e["dport"] == lport for e in ev),
                }
                assert all(m["subject"] == f"monitord.{host}.{m['event']['event']}" for m in mine), \
                    f"{host}: a subject that is not monitord.{host}.<kind>"
                m = final[i]
                dropped = drops(m) + (drops(before_restart[i]) if i == 0 else 0)
                for kind in want:
                    missing = want[kind] - got[kind]
                    assert 0 <= missing <= dropped, \
                        f"{host}: {got[kind]} {kind} events of the workload in the stream, {want[kind]} made, " \
                        f"{dropped:.0f} dropped and counted"
                print(f"ok: {host}: {got} of {want} in the stream; "
                      f"dropped {dropped:.0f}, resent {m['monitord_nats_resent_total']:.0f}, "
                      f"duplicates JetStream refused {m['monitord_nats_duplicates_total']:.0f}, "
                      f"reconnects {m['monitord_nats_reconnects_total']:.0f}")
            print(f"ok: {summary['messages']} messages in stream {STREAM} (the workload's and the machine's other "
                  f"processes'), every message id once")
            for m in mons:
                m.send_signal(signal.SIGTERM)
            for m in mons:
                assert m.wait(timeout=20) == 0, f"a monitord exited {m.returncode}"
            server.kill()
    finally:
        for p in mons + ([server.proc] if server and server.proc else []):
            if p.poll() is None:
                p.kill()
                p.wait()
        for name in sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []:
            if name.endswith(".log"):
                with open(os.path.join(tmp, name)) as f:
                    print(f"--- {name}\n{f.read()}", end="")
        shutil.rmtree(tmp, ignore_errors=True)


main()
