#!/bin/sh
# Compiles one BPF C file into a CO-RE object and wraps it in a bpftool skeleton header,
# so that binaries carry the object bytes and never look for a .o file at run time.
# usage: bpf-skel.sh CLANG BPFTOOL INPUT OUTPUT.skel.h DEPFILE [clang flags...]
set -eu
clang=$1 bpftool=$2 in=$3 out=$4 dep=$5
shift 5
obj=${out%.skel.h}.o
name=$(basename "$in" .bpf.c | tr -c 'A-Za-z0-9_\n' '_')
"$clang" -target bpf -g -O2 -D__TARGET_ARCH_x86 -Wall -Wno-unused-function \
  -MD -MF "$dep" -MT "$out" "$@" -c "$in" -o "$obj.full"
# The linker pass strips DWARF but keeps BTF, which is all CO-RE needs; the embedded object shrinks.
"$bpftool" gen object "$obj" "$obj.full"
"$bpftool" gen skeleton "$obj" name "${name}_bpf" > "$out.tmp"
mv "$out.tmp" "$out"
rm -f "$obj.full"
