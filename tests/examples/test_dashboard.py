#!/usr/bin/env python3
"""The Grafana dashboard against a real monitord, so the two cannot drift apart.

usage: test_dashboard.py DASHBOARD_JSON MONITORD

monitord runs in a network namespace this test makes (and removes), on that namespace's lo, with
--bpf-stats so that the panel of its BPF programs' cost has series.
Every metric a dashboard query names must be in monitord's scrape, with the labels the query
groups by; then a real Prometheus scrapes monitord and every query, its Grafana variables
filled in, must return series.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

from monitord_http import free_port, wait_for
from netns import sh

NS = f"bpfco_users_dash_{os.getpid()}"


def in_ns(*args, check=True):
    return sh("ip", "netns", "exec", NS, *args, check=check)


def queries(dashboard):
    """(where, PromQL) of every panel target; the variable query apart."""
    out = []
    for p in dashboard["panels"]:
        for t in p.get("targets", []):
            out.append((f"panel '{p['title']}'", t["expr"]))
    return out


def wait_http(url, what, proc, timeout=30):
    """The body of url once it answers (curl inside the namespace), while proc runs."""
    def answer():
        assert proc.poll() is None, f"{what} exited {proc.returncode}"
        r = in_ns("curl", "-sf", url, check=False)
        return r.returncode == 0 and r.stdout
    return wait_for(f"{what} answering {url}", answer, timeout=timeout, interval=0.3)


def scrape_series(text):
    """{metric name: set of label names} of a Prometheus text scrape."""
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s", line)
        assert m, line
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(2) or ""))
        series.setdefault(m.group(1), set()).update(labels)
    return series


def check_against_scrape(dashboard, series):
    checked = set()
    for where, expr in queries(dashboard):
        names = set(re.findall(r"\bmonitord_[a-z_]+\b", expr))
        assert names, f"{where}: no monitord metric in {expr}"
        for name in names:
            assert name in series, f"{where} queries {name}, which monitord does not export"
            for group in re.findall(r"\bby \(([^)]*)\)", expr):
                for label in (l.strip() for l in group.split(",")):
                    # instance is Prometheus's own target label, not monitord's.
                    assert label == "instance" or label in series[name], \
                        f"{where} groups {name} by '{label}', a label monitord does not set"
            checked.add(name)
    var = next(v for v in dashboard["templating"]["list"] if v["name"] == "instance")
    name = re.search(r"label_values\((\w+),", var["definition"]).group(1)
    assert name in series, f"variable 'instance' lists {name}, which monitord does not export"
    checked.add(name)
    print(f"ok: {len(checked)} metrics the dashboard queries are in the scrape: {', '.join(sorted(checked))}")
    return name


def check_with_prometheus(dashboard, monitord_port, instance_metric):
    d = tempfile.mkdtemp(prefix="bpfco_users_dash_prom_")
    port = free_port()
    try:
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: monitord\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{monitord_port}']\n")
        prom = subprocess.Popen(["ip", "netns", "exec", NS, "prometheus", f"--config.file={d}/prometheus.yml",
                                 f"--storage.tsdb.path={d}/data", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            api = f"http://127.0.0.1:{port}/api/v1"
            wait_http(f"{api}/status/buildinfo", "prometheus", prom)
            # Grafana's variables as Grafana fills them for one host and a short range.
            pending = {where: expr.replace("$__rate_interval", "5s").replace("$instance", ".*")
                       for where, expr in queries(dashboard)}
            deadline = time.time() + 60
            while pending and time.time() < deadline:
                for where, expr in list(pending.items()):
                    r = in_ns("curl", "-s", f"{api}/query?query={urllib.parse.quote(expr)}", check=False)
                    if r.returncode != 0 or not r.stdout:
                        continue
                    answer = json.loads(r.stdout)
                    assert answer["status"] == "success", f"{where}: Prometheus rejects {expr}: {answer.get('error')}"
                    if answer["data"]["result"]:
                        del pending[where]
                time.sleep(1)
            assert not pending, f"no series from Prometheus within 60 s for: {pending}"
            match = urllib.parse.quote(instance_metric)
            values = json.loads(in_ns("curl", "-sf", f"{api}/label/instance/values?match[]={match}").stdout)["data"]
            assert values == [f"127.0.0.1:{monitord_port}"], values
            print(f"ok: all {len(queries(dashboard))} panel queries return series from Prometheus; "
                  f"the Host variable lists {values}")
        finally:
            prom.terminate()
            prom.wait(timeout=20)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    dashboard_path, monitord = sys.argv[1], os.path.abspath(sys.argv[2])
    with open(dashboard_path) as f:
        dashboard = json.load(f)
    if os.geteuid() != 0:
        print("SKIPPED: monitord needs root")
        sys.exit(77)
    if not shutil.which("prometheus"):
        print("SKIPPED: no prometheus (apt-get install prometheus; .ci/install has it)")
        sys.exit(77)
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "netns", "add", NS)
    try:
        in_ns("ip", "link", "set", "lo", "up")
        port = free_port()
        mon = subprocess.Popen(["ip", "netns", "exec", NS, monitord, "--interface", "lo", "--bpf-stats",
                                "--listen", f"127.0.0.1:{port}", "--duration", "120"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            text = wait_http(f"http://127.0.0.1:{port}/metrics", "monitord", mon)
            instance_metric = check_against_scrape(dashboard, scrape_series(text))
            check_with_prometheus(dashboard, port, instance_metric)
        finally:
            if mon.poll() is None:
                mon.terminate()
            mon.wait(timeout=20)
    finally:
        sh("ip", "netns", "del", NS, check=False)


main()
