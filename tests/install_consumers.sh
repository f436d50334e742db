#!/bin/sh
# Installs bpfco into a staging prefix inside the build tree, then builds two consumers against it
# as users would: tests/cmake_consumer with find_package(bpfco) and bpfco_add_bpf_skeleton (run:
# counts its own syscalls), and a one-file program with `pkg-config --cflags --libs bpfco`.
# usage: install_consumers.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -eu
build=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
stage=$work/stage
meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; exit 1; }
prefix=$stage$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
libdir=$(find "$prefix" -name 'libbpfco.so' -printf '%h\n' | head -n1)
[ -n "$libdir" ] || { echo "no libbpfco.so under $prefix"; exit 1; }

# pkg-config: the staged .pc names the final prefix; the sysroot variable maps it into the stage.
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config --cflags --libs bpfco)
# The sysroot would also move a libbpf outside the system dirs (the libbpf 1.4 CI build's) into
# the stage: put the libbpf bpfco was built with (the caller's PKG_CONFIG_PATH) first.
libbpf_dir=$(pkg-config --libs-only-L libbpf | sed 's/^ *-L//; s/ *$//')
[ -z "$libbpf_dir" ] || flags="-L$libbpf_dir $flags"
echo "pkg-config --cflags --libs bpfco: $flags"
# shellcheck disable=SC2086
c++ -std=c++20 -Wall -Wextra -Werror "$src/tests/cmake_consumer/pkg_config_consumer.cpp" $flags \
  -o "$work/pkg_config_consumer"
LD_LIBRARY_PATH="$libdir${libbpf_dir:+:$libbpf_dir}" "$work/pkg_config_consumer"

# CMake: the package config is found through CMAKE_PREFIX_PATH, as for any prefix.
command -v cmake >/dev/null || { echo "SKIPPED: the CMake consumer needs cmake (apt-get install cmake; .ci/install has it)"; exit 77; }
cmake -S "$src/tests/cmake_consumer" -B "$work/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; exit 1; }
ninja -C "$work/cmake" >"$work/cmake-build.log" 2>&1 || { cat "$work/cmake-build.log"; exit 1; }
if grep -q "warning:" "$work/cmake-build.log"; then grep "warning:" "$work/cmake-build.log"; exit 1; fi

[ "$(id -u)" = 0 ] || { echo "SKIPPED: running the CMake consumer needs root"; exit 77; }
"$work/cmake/cmake_consumer"
