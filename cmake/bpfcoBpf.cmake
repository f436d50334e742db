# bpfco_add_bpf_skeleton(<target> <file.bpf.c> [CLANG_ARGS <arg>...])
#
# What bpfco's meson bpf_skeleton generator does, for CMake projects: compiles file.bpf.c with
# clang -target bpf against a vmlinux.h, links it with bpftool (DWARF dropped, BTF kept) and wraps
# it in a bpftool skeleton <file>.bpf.skel.h on <target>'s include path, so the binary carries the
# object: bpfco::object::load_skeleton("file", file_bpf__elf_bytes); beside it <file>.bpf.types.hpp,
# the C++ types of the object's records and globals generated from its BTF (namespace `file`).
#
# vmlinux.h comes from this machine's BTF (/sys/kernel/btf/vmlinux) at build time, or from
# BPFCO_VMLINUX_H (a cache variable) where the build machine has no BTF.
# BPF C can include <bpfco/common.bpf.h>, <bpfco/ringbuf.bpf.h> and <bpfco/histogram.bpf.h>.

find_program(BPFCO_CLANG NAMES clang REQUIRED)
find_program(BPFCO_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
set(BPFCO_VMLINUX_H "" CACHE FILEPATH
  "vmlinux.h to compile BPF C against; empty: generate one from /sys/kernel/btf/vmlinux")

function(_bpfco_vmlinux_h out_dir)
  if(TARGET bpfco_vmlinux_h)
    return()
  endif()
  if(BPFCO_VMLINUX_H)
    if(NOT EXISTS "${BPFCO_VMLINUX_H}")
      message(FATAL_ERROR "BPFCO_VMLINUX_H=${BPFCO_VMLINUX_H}: no such file")
    endif()
    configure_file("${BPFCO_VMLINUX_H}" "${out_dir}/vmlinux.h" COPYONLY)
    add_custom_target(bpfco_vmlinux_h)
  elseif(EXISTS /sys/kernel/btf/vmlinux)
    add_custom_command(OUTPUT "${out_dir}/vmlinux.h"
      COMMAND "${BPFCO_BPFTOOL}" btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h.tmp
      COMMAND "${CMAKE_COMMAND}" -E rename vmlinux.h.tmp vmlinux.h
      WORKING_DIRECTORY "${out_dir}"
      COMMENT "Generating vmlinux.h from this kernel's BTF"
      VERBATIM)
    add_custom_target(bpfco_vmlinux_h DEPENDS "${out_dir}/vmlinux.h")
  else()
    message(FATAL_ERROR "No kernel BTF at /sys/kernel/btf/vmlinux (kernel without "
      "CONFIG_DEBUG_INFO_BTF) and no -DBPFCO_VMLINUX_H=PATH given: cannot generate vmlinux.h "
      "for the BPF programs.")
  endif()
endfunction()

function(bpfco_add_bpf_skeleton target source)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "CLANG_ARGS")
  if(NOT TARGET "${target}")
    message(FATAL_ERROR "bpfco_add_bpf_skeleton: no target '${target}'")
  endif()
  get_filename_component(src "${source}" ABSOLUTE)
  get_filename_component(file "${src}" NAME)
  if(NOT file MATCHES "\\.bpf\\.c$")
    message(FATAL_ERROR "bpfco_add_bpf_skeleton: '${source}' does not end in .bpf.c")
  endif()
  string(REGEX REPLACE "\\.c$" "" base "${file}")
  # One vmlinux.h per build tree, shared by every skeleton.
  set(vmlinux_dir "${CMAKE_BINARY_DIR}/bpfco_vmlinux")
  file(MAKE_DIRECTORY "${vmlinux_dir}")
  _bpfco_vmlinux_h("${vmlinux_dir}")
  set(skel_dir "${CMAKE_CURRENT_BINARY_DIR}/bpfco_skel")
  file(MAKE_DIRECTORY "${skel_dir}")
  set(out "${skel_dir}/${base}.skel.h")
  add_custom_command(OUTPUT "${out}" "${skel_dir}/${base}.types.hpp"
    COMMAND "${BPFCO_BPF_SKEL}" "${BPFCO_CLANG}" "${BPFCO_BPFTOOL}" "${BPFCO_GEN_TYPES}" "${src}" "${out}"
      "${skel_dir}/${base}.d" "-I${vmlinux_dir}" "-I${BPFCO_BPF_INCLUDE_DIR}" ${arg_CLANG_ARGS}
    DEPENDS "${src}" bpfco_vmlinux_h  # vmlinux.h itself through the depfile
    DEPFILE "${skel_dir}/${base}.d"
    COMMENT "BPF skeleton ${base}.skel.h and types ${base}.types.hpp"
    VERBATIM)
  target_sources("${target}" PRIVATE "${out}" "${skel_dir}/${base}.types.hpp")
  target_include_directories("${target}" PRIVATE "${skel_dir}")
endfunction()
