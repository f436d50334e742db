#!/usr/bin/env python3
"""The include rule of docs/architecture.md, checked on the tree.

A public header includes only its own folder, the top level, and folders before it in ORDER; the
folders in include/bpfco/ and src/ are exactly the ones docs/architecture.md names, and no source
sits at the top of src/ except the few that belong there. Usage: check_layers.py SOURCE_ROOT
"""
import pathlib
import re
import sys

ORDER = ["maps", "attach", "loader", "streams", "net", "analysis"]
TOP_SOURCES = {"btf_layout.cpp", "cpus.cpp", "error.cpp", "kinds.cpp", "version.cpp", "meson.build"}
UMBRELLAS = {"bpfco.hpp"} | {f"{f}.hpp" for f in ORDER}
INCLUDE = re.compile(r'^\s*#\s*include\s*<bpfco/([a-z_]+)/', re.M)


def main(root: pathlib.Path) -> int:
    problems = []
    inc = root / "include" / "bpfco"
    src = root / "src"

    folders = sorted(p.name for p in inc.iterdir() if p.is_dir())
    if folders != sorted(ORDER):
        problems.append(f"include/bpfco/ has folders {folders}, the rule names {sorted(ORDER)}")
    src_folders = sorted(p.name for p in src.iterdir() if p.is_dir())
    if src_folders != sorted(ORDER + ["internal"]):
        problems.append(f"src/ has folders {src_folders}, expected {sorted(ORDER + ['internal'])}")
    for p in sorted(src.iterdir()):
        if p.is_file() and p.name not in TOP_SOURCES:
            problems.append(f"src/{p.name}: a source at the top of src/; it belongs in a concept folder")

    for header in sorted(inc.rglob("*.hpp")):
        rel = header.relative_to(inc)
        if len(rel.parts) == 1:
            if rel.name in UMBRELLAS:
                continue
            allowed = set()  # the top level includes no folder
        else:
            own = rel.parts[0]
            allowed = set(ORDER[: ORDER.index(own) + 1])
        text = header.read_text()
        if (len(rel.parts) == 1 or rel.parts[0] in ORDER[:ORDER.index("streams")]) and "<boost/asio" in text:
            problems.append(f"include/bpfco/{rel}: includes Asio, which only streams/ and after may")
        for used in INCLUDE.findall(text):
            if used not in allowed:
                problems.append(f"include/bpfco/{rel}: includes <bpfco/{used}/...>, "
                                f"a folder after its own in {ORDER}")

    doc = (root / "docs" / "architecture.md").read_text()
    for folder in ORDER:
        if f"`{folder}/`" not in doc:
            problems.append(f"docs/architecture.md does not describe the folder {folder}/")
    order_line = "**top, " + ", ".join(ORDER) + "**"
    if order_line not in doc:
        problems.append(f"docs/architecture.md does not state the order {order_line}")

    for p in problems:
        print(p)
    print(f"{len(problems)} layering problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
