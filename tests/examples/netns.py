"""Two network namespaces joined by a veth pair, made by a test and removed by it.

Traffic in these tests goes only between the two peers (or to loopback inside a namespace):
the namespaces have no other interfaces and no routes out.
"""
import os
import subprocess


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, text=True, capture_output=True, **kw)


class VethPair:
    def __init__(self, tag, prefix="bpfco-"):
        tag = f"{tag}{os.getpid() % 100000}"
        self.a, self.b = f"{prefix}{tag}-a", f"{prefix}{tag}-b"
        self.dev_a, self.dev_b = f"va{tag}"[:15], f"vb{tag}"[:15]
        octet = 1 + os.getpid() % 250
        self.addr_a = f"10.251.{octet}.1"
        self.addr_a2 = f"10.251.{octet}.3"  # a second sender address (for the blocklist)
        self.addr_b = f"10.251.{octet}.2"

    def __enter__(self):
        self.remove()
        sh("ip", "netns", "add", self.a)
        sh("ip", "netns", "add", self.b)
        sh("ip", "link", "add", self.dev_a, "netns", self.a, "type", "veth", "peer", "name", self.dev_b,
           "netns", self.b)
        for ns, dev, addrs in ((self.a, self.dev_a, (self.addr_a, self.addr_a2)), (self.b, self.dev_b, (self.addr_b,))):
            # No IPv6 autoconfiguration chatter: the tests count packets exactly.
            self.run(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            self.run(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
            for addr in addrs:
                self.run(ns, "ip", "addr", "add", f"{addr}/24", "dev", dev)
            self.run(ns, "ip", "link", "set", "lo", "up")
            self.run(ns, "ip", "link", "set", dev, "up")
        # Resolve ARP both ways now, so that later counts hold only the test's own traffic.
        self.run(self.a, "ping", "-c", "1", "-W", "2", "-I", self.addr_a, self.addr_b)
        self.run(self.a, "ping", "-c", "1", "-W", "2", "-I", self.addr_a2, self.addr_b)
        return self

    def __exit__(self, *exc):
        self.remove()

    def remove(self):
        for ns in (self.a, self.b):
            sh("ip", "netns", "del", ns, check=False)

    def run(self, ns, *args, check=True, **kw):
        return sh("ip", "netns", "exec", ns, *args, check=check, **kw)

    def popen(self, ns, *args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", ns, *args], **kw)

    def snmp(self, ns):
        """/proc/net/snmp of a namespace as {('Udp', 'OutDatagrams'): n, ...}."""
        lines = self.run(ns, "cat", "/proc/net/snmp").stdout.splitlines()
        out = {}
        for head, vals in zip(lines[0::2], lines[1::2]):
            proto, names = head.split(":")
            for n, v in zip(names.split(), vals.split(":")[1].split()):
                out[(proto, n)] = int(v)
        return out


class Netns:
    """One network namespace with only its own loopback, which this process enters (monitord
    and every client it starts then live there) and leaves when done. Its `lo` is not the
    host's: attaching XDP or TC to it touches nothing outside."""

    CLONE_NEWNET = 0x40000000

    def __init__(self, tag):
        self.name = f"bpfco_monitord_{tag}{os.getpid() % 100000}"

    def __enter__(self):
        import ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        sh("ip", "netns", "del", self.name, check=False)
        sh("ip", "netns", "add", self.name)
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        self._setns(f"/run/netns/{self.name}")
        sh("ip", "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc):
        self._setns_fd(self.home)
        os.close(self.home)
        sh("ip", "netns", "del", self.name, check=False)

    def _setns(self, path):
        fd = os.open(path, os.O_RDONLY)
        try:
            self._setns_fd(fd)
        finally:
            os.close(fd)

    def _setns_fd(self, fd):
        if self.libc.setns(fd, self.CLONE_NEWNET) != 0:
            raise OSError(self.libc.get_errno(), "setns")
