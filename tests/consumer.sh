#!/bin/sh
# Builds a newcomer's project: its meson.build is exactly the README's block (section "Using
# bpfco from another meson project"), its sources tests/consumer/tool.cpp and tool.bpf.c, bpfco
# a subproject. Then runs it.
# usage: consumer.sh SOURCE_ROOT WORK_DIR
set -eu
src=$1 work=$2
rm -rf "$work"
mkdir -p "$work/subprojects"
cp -r "$src/tests/consumer/." "$work/"
# The first meson block after the section's heading, fences excluded.
sed -n '/^## Using bpfco from another meson project/,/^## /p' "$src/README.md" |
  sed -n '/^```meson$/,/^```$/p' | sed '1d;$d' >"$work/meson.build"
grep -q "^project(" "$work/meson.build" || { echo "README: no meson project() block to build"; exit 1; }
ln -s "$src" "$work/subprojects/bpfco"
cd "$work"
meson setup build >setup.log 2>&1 || { cat setup.log; exit 1; }
ninja -C build >build.log 2>&1 || { cat build.log; exit 1; }
if grep -q "warning:" build.log; then grep "warning:" build.log; exit 1; fi
[ "$(id -u)" = 0 ] || { echo "SKIPPED: running the consumer needs root"; exit 77; }
./build/tool
