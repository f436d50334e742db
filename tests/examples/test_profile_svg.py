#!/usr/bin/env python3
"""profile --svg against a process with a known hot function.

  test_profile_svg.py PROFILE TARGET WORKDIR              the SVG's structure
  test_profile_svg.py PROFILE TARGET WORKDIR --screenshot  headless Chromium draws it (non-blank)

The SVG must parse as XML, its root frame must hold exactly the samples the profiler took (the
sum of the folded counts printed in the same run), and bpfco_users_hot's rectangle must be wider
than every user frame that does not enclose it (its callers).
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

SVG_NS = "{http://www.w3.org/2000/svg}"
TITLE = re.compile(r"^(.*) \((\d+) samples?, [0-9.]+%\)$")


def skip(why):
    print(f"SKIPPED: {why}")
    sys.exit(77)


def profile_target(profile, target, svg):
    """Runs the target for 4 s and profiles it for 2 s; returns (folded lines, stderr)."""
    proc = subprocess.Popen([target, "4"])
    try:
        r = subprocess.run([profile, "-F", "499", "-d", "2", "-p", str(proc.pid), "--folded", "--svg", svg],
                           capture_output=True, text=True, timeout=60)
    finally:
        proc.wait(timeout=30)
    sys.stderr.write(r.stderr)
    assert r.returncode == 0, f"profile exited {r.returncode}"
    return r.stdout.splitlines(), r.stderr


def frames(svg):
    """(kind, name, samples, x, y, width) of every frame drawn."""
    root = ET.parse(svg).getroot()
    out = []
    for g in root.iter(SVG_NS + "g"):
        cls = g.get("class", "").split()
        if "f" not in cls:
            continue
        m = TITLE.match(g.find(SVG_NS + "title").text)
        assert m, g.find(SVG_NS + "title").text
        rect = g.find(SVG_NS + "rect")
        out.append((cls[1], m.group(1), int(m.group(2)), float(rect.get("x")), float(rect.get("y")),
                    float(rect.get("width"))))
    return out


def check_structure(folded, stderr, svg):
    taken = sum(int(line.rsplit(" ", 1)[1]) for line in folded)
    m = re.search(r"profile: (\d+) samples in (\d+) stacks", stderr)
    assert m and int(m.group(1)) == taken, (m and m.group(0), taken)
    assert taken >= 50, f"only {taken} samples in 2 s at 499 Hz of a spinning process"
    fs = frames(svg)
    roots = [f for f in fs if f[1] == "all"]
    assert len(roots) == 1 and roots[0][2] == taken, (roots, taken)
    hot = [f for f in fs if f[0] == "user" and f[1] == "bpfco_users_hot"]
    assert len(hot) == 1, hot
    hot = hot[0]
    _, _, _, hx, hy, hw = hot
    for kind, name, n, x, y, w in fs:
        if kind != "user" or (name, x, y) == (hot[1], hx, hy):
            continue
        encloses = y > hy and x <= hx + 0.01 and x + w >= hx + hw - 0.01
        assert encloses or w < hw, f"user frame {name} ({n} samples, {w:.1f} px) is wider than the hot one ({hot[2]}, {hw:.1f} px)"
    cold = [f for f in fs if f[1] == "bpfco_users_cold"]
    assert cold and cold[0][5] < hw, cold
    print(f"ok: {taken} samples, root {roots[0][2]}, bpfco_users_hot {hot[2]} samples ({hw:.0f} px) "
          f"widest of {sum(1 for f in fs if f[0] == 'user')} user frames")


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into rows of bytes."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = hdr
    assert depth == 8 and colour in (2, 6) and interlace == 0, hdr
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for r in range(height):
        f, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def check_screenshot(svg, work):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        skip("screenshot: no chromium here (Debian's 'chromium' package, about 350 MB, "
             "is not in .ci/install; apt-get install chromium to run this test)")
    png = os.path.join(work, "flame.png")
    with tempfile.TemporaryDirectory(prefix="bpfco_users_chromium_") as profile_dir:
        r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync", "--no-first-run",
                            f"--user-data-dir={profile_dir}", f"--screenshot={png}", "--window-size=1200,700",
                            "file://" + os.path.abspath(svg)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and os.path.exists(png), f"chromium exited {r.returncode}: {r.stderr[-2000:]}"
    width, height, bpp, rows = png_pixels(png)
    colours, painted = set(), 0
    for row in rows:
        for i in range(0, len(row), bpp):
            px = row[i:i + 3]
            colours.add(px)
            painted += px != b"\xff\xff\xff" and px != b"\xf8\xf8\xf0"
    share = painted / (width * height)
    print(f"screenshot {width}x{height}: {len(colours)} colours, {share:.0%} of pixels painted over the background")
    assert len(colours) >= 20 and share >= 0.02, "the screenshot is blank"


def main():
    profile, target, work = sys.argv[1:4]
    if os.geteuid() != 0:
        skip("profiling needs root (CAP_BPF, CAP_PERFMON)")
    if "--screenshot" in sys.argv[4:] and not (shutil.which("chromium") or shutil.which("chromium-browser")):
        check_screenshot(None, work)  # skips with the reason
    os.makedirs(work, exist_ok=True)
    svg = os.path.join(work, "flame.svg")
    folded, stderr = profile_target(profile, target, svg)
    if "--screenshot" in sys.argv[4:]:
        check_screenshot(svg, work)
    else:
        check_structure(folded, stderr, svg)


main()
