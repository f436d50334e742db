#!/bin/sh
# Builds tests/consumer as its own meson project with bpfco as a subproject, then runs it.
# usage: consumer.sh SOURCE_ROOT WORK_DIR
set -eu
src=$1 work=$2
rm -rf "$work"
mkdir -p "$work/subprojects"
cp -r "$src/tests/consumer/." "$work/"
ln -s "$src" "$work/subprojects/bpfco"
cd "$work"
meson setup build >setup.log 2>&1 || { cat setup.log; exit 1; }
ninja -C build >build.log 2>&1 || { cat build.log; exit 1; }
if grep -q "warning:" build.log; then grep "warning:" build.log; exit 1; fi
[ "$(id -u)" = 0 ] || { echo "SKIPPED: running the consumer needs root"; exit 77; }
./build/consumer
