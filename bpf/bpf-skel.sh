#!/bin/sh
# Compiles one BPF C file into a CO-RE object, wraps it in a bpftool skeleton header, so that
# binaries carry the object bytes and never look for a .o file at run time, and generates the C++
# types of its records and globals from its BTF (OUTPUT.types.hpp beside OUTPUT.skel.h).
# usage: bpf-skel.sh CLANG BPFTOOL GEN_TYPES INPUT OUTPUT.skel.h DEPFILE [clang flags...]
set -eu
clang=$1 bpftool=$2 gen_types=$3 in=$4 out=$5 dep=$6
shift 6
obj=${out%.skel.h}.o
name=$(basename "$in" .bpf.c | tr -c 'A-Za-z0-9_\n' '_')
"$clang" -target bpf -g -O2 -D__TARGET_ARCH_x86 -Wall -Wno-unused-function \
  -MD -MF "$dep" -MT "$out" "$@" -c "$in" -o "$obj.full"
# The linker pass strips DWARF but keeps BTF, which is all CO-RE needs; the embedded object shrinks.
"$bpftool" gen object "$obj" "$obj.full"
"$gen_types" "$obj" "$name" "${out%.skel.h}.types.hpp"
"$bpftool" gen skeleton "$obj" name "${name}_bpf" > "$out.tmp"
mv "$out.tmp" "$out"
rm -f "$obj.full"
