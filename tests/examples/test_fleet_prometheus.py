#!/usr/bin/env python3
"""Three monitords, one real Prometheus finding them through file_sd (docs/fleet.md).

usage: test_fleet_prometheus.py MONITORD

The test makes (and removes) four network namespaces: one for Prometheus, this process's own
while it runs, and one per monitord, joined to Prometheus's by a veth pair. Each monitord counts
packets on its namespace's lo and serves /metrics on its veth address, so scrapes never touch
the counts. Each namespace pings its own loopback a different known number of times; then all
three targets must be up in Prometheus and `sum by (instance) (monitord_packets_total)` must
return each monitord's exact packet count, the same as its own /metrics says.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

from monitord_http import free_port, parse_metrics, wait_for
from netns import Netns, sh

PINGS = [5, 10, 15]  # per monitord: distinct, so that the instances cannot be mixed up
TAG = os.getpid() % 10000


def skip(reason):
    print(f"SKIPPED: fleet_prometheus: {reason}")
    sys.exit(77)


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def packets_in_scrape(text):
    return int(sum(v for k, v in parse_metrics(text).items() if k.startswith("monitord_packets_total{")))


def main():
    monitord = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        skip("monitord needs root")
    if not shutil.which("prometheus"):
        skip("no prometheus (apt-get install prometheus; .ci/install has it)")
    hosts = [f"bpfco_fleet{i}_{TAG}" for i in range(len(PINGS))]
    addrs = [f"10.253.{i + 1}.2" for i in range(len(PINGS))]
    tmp = tempfile.mkdtemp(prefix="bpfco_fleet_prom_")
    mons, prom = [], None
    try:
        with Netns("fleetprom"):
            for i, ns in enumerate(hosts):
                sh("ip", "netns", "del", ns, check=False)
                sh("ip", "netns", "add", ns)
                here, there = f"fp{i}_{TAG}", f"fq{i}_{TAG}"
                sh("ip", "link", "add", here, "type", "veth", "peer", "name", there, "netns", ns)
                sh("ip", "addr", "add", f"10.253.{i + 1}.1/24", "dev", here)
                sh("ip", "link", "set", here, "up")
                for cmd in (["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                            ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
                            ["ip", "addr", "add", f"{addrs[i]}/24", "dev", there],
                            ["ip", "link", "set", "lo", "up"], ["ip", "link", "set", there, "up"]):
                    sh("ip", "netns", "exec", ns, *cmd)
                log = open(os.path.join(tmp, f"monitord{i}.log"), "w")
                mons.append(subprocess.Popen(["ip", "netns", "exec", ns, monitord, "--interface", "lo",
                                              "--listen", f"{addrs[i]}:9435", "--duration", "240"],
                                             stdout=subprocess.DEVNULL, stderr=log))
            for a in addrs:
                wait_for(f"monitord at {a}", lambda: "monitord_packets_total" in get(f"http://{a}:9435/metrics"),
                         timeout=60, interval=0.5)

            # The fleet's file_sd list, as docs/fleet.md shows it.
            os.makedirs(os.path.join(tmp, "targets"))
            with open(os.path.join(tmp, "targets", "monitord.json"), "w") as f:
                json.dump([{"targets": [f"{a}:9435" for a in addrs], "labels": {"fleet": "test"}}], f)
            with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
                f.write("global:\n  scrape_interval: 1s\n"
                        "scrape_configs:\n  - job_name: monitord\n    file_sd_configs:\n"
                        f"      - files: ['{tmp}/targets/*.json']\n        refresh_interval: 5s\n")
            port = free_port()
            prom = subprocess.Popen(["prometheus", f"--config.file={tmp}/prometheus.yml",
                                     f"--storage.tsdb.path={tmp}/data", f"--web.listen-address=127.0.0.1:{port}"],
                                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w"))
            api = f"http://127.0.0.1:{port}/api/v1"

            def all_up():
                targets = json.loads(get(f"{api}/targets"))["data"]["activeTargets"]
                up = sorted(t["labels"]["instance"] for t in targets if t["health"] == "up")
                return up == sorted(f"{a}:9435" for a in addrs) and up
            up = wait_for("all three targets up in Prometheus", all_up, timeout=60, interval=0.5)
            print("ok: targets up:", up)

            for ns, n in zip(hosts, PINGS):
                sh("ip", "netns", "exec", ns, "ping", "-c", str(n), "-i", "0.01", "-W", "2", "127.0.0.1")
            # Each monitord's own count, now final: only the pings cross lo.
            want = {f"{a}:9435": packets_in_scrape(get(f"http://{a}:9435/metrics")) for a in addrs}
            for (inst, total), n in zip(want.items(), PINGS):
                # Each echo request and reply crosses lo once each way (ingress via XDP, egress via TC).
                assert total == 4 * n, f"{inst}: {total} packets for {n} pings on lo, expected {4 * n}"

            query = "sum by (instance) (monitord_packets_total)"

            def answer():
                r = json.loads(get(f"{api}/query?query={urllib.parse.quote(query)}"))
                assert r["status"] == "success", r
                got = {x["metric"]["instance"]: int(float(x["value"][1])) for x in r["data"]["result"]}
                return got == want and got
            got = wait_for(f"Prometheus answering {query} with {want}", answer, timeout=60, interval=0.5)
            print(f"ok: {query} = {got} ({PINGS} pings on each lo)")
    finally:
        for m in mons:
            if m.poll() is None:
                m.terminate()
            m.wait(timeout=20)
        if prom:
            prom.terminate()
            prom.wait(timeout=20)
        for ns in hosts:
            sh("ip", "netns", "del", ns, check=False)
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".log") and name.startswith("monitord"):
                with open(os.path.join(tmp, name)) as f:
                    print(f"--- {name}\n{f.read()}", end="")
        shutil.rmtree(tmp, ignore_errors=True)


main()
