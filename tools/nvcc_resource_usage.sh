#!/bin/sh
# The compiler launcher of the CUDA kernels (kernels/CMakeLists.txt): runs the nvcc command it is
# given, which carries --resource-usage, and keeps ptxas' report of every kernel and architecture
# (registers, spills, shared memory) next to the object as <object>.resources, for
# `hdr bench kernels --device cuda` and the spill check. The report still reaches the build log.
out=""
prev=""
for arg in "$@"; do
  [ "$prev" = "-o" ] && out="$arg"
  prev="$arg"
done
if [ -z "$out" ]; then exec "$@"; fi
"$@" 2>"$out.resources.tmp"
status=$?
cat "$out.resources.tmp" >&2
if [ "$status" -eq 0 ]; then mv "$out.resources.tmp" "$out.resources"; else rm -f "$out.resources.tmp"; fi
exit "$status"
