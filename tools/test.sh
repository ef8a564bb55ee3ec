#!/usr/bin/env bash
# The README's test commands.
#
#   tools/test.sh           the quick gate, what a person runs before sending a change: set-up,
#                           data, the ci build (release, warnings as errors, the CUDA backend
#                           compiled when nvcc is found), the build-dependency guard, and the whole
#                           ctest suite (unit; kernel: CPU kernels and every CUDA kernel through
#                           kernels/simt_host.h; e2e; browser)
#   tools/test.sh --full    what CI runs (.ci/run): the quick gate, then every CPU-side test
#                           (unit, kernel, e2e) under AddressSanitizer, LeakSanitizer and UBSan,
#                           every libFuzzer target for 60 s (tests/fuzz, clang, ASan + UBSan: a
#                           crash, leak or report fails), and the kernel tests under ThreadSanitizer
#                           (a missing __syncthreads() in an emulated kernel is a data race)
#   --strict                a system file the build used that differs from its package fails the
#                           guard (tools/check_build_deps.sh); without it, a warning. CI=true
#                           implies it, and there set-up first reinstalls such packages
#                           (tools/setup.sh --pristine), so CI builds what a fresh machine builds.
#
# Every build goes through ccache (tools/setup.sh installs it; CMakeLists.txt), so a rerun
# compiles only what changed. Each test has a time limit (CMakePresets.json); the run ends with
# the 20 slowest tests and the time each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."

full=false
guard_args=()
for arg in "$@"; do
  case "$arg" in
    --full) full=true ;;
    --strict) guard_args+=(--strict) ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "test: unknown argument '$arg' (--full, --strict, --help)" >&2; exit 2 ;;
  esac
done
jobs=$(nproc)

stages=()
stage_start=$SECONDS
# stage NAME: closes the stage that ran since the last call, for the summary.
stage() {
  stages+=("$(printf '%-34s %4d s' "$1" $((SECONDS - stage_start)))")
  stage_start=$SECONDS
}
# build PRESET [TARGET...]: configure, build (only TARGETs when given) and guard one preset.
build() {
  local preset=$1 targets=()
  shift
  (($# == 0)) || targets=(--target "$@")
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs" "${targets[@]}"
  tools/check_build_deps.sh "${guard_args[@]}" "build/$preset"
  stage "$preset build and guard"
}
# run_ctest PRESET [ARGS...]: the suite, then its 20 slowest tests from ctest's own report.
run_ctest() {
  local preset=$1 log
  shift
  log=build/$preset/ctest-output.log
  ctest --preset "$preset" -j "$jobs" "$@" | tee "$log"
  echo "The 20 slowest tests of the $preset run:"
  # "  3/551 Test  #12: Name[  # GetParam() = ...] ......   Passed    1.23 sec"
  awk '$1 ~ /^[0-9]+\/[0-9]+$/ && $2 == "Test" && $NF == "sec" {
         status = $(NF - 2); sub(/^\.*/, "", status); print $(NF - 1), $4, status }' "$log" |
    sort -rn | awk 'NR <= 20 { printf "  %8.1f s  %s  %s\n", $1, $2, $3 }'
  stage "$preset tests"
}

setup_args=()
[ "${CI:-}" != true ] || setup_args+=(--pristine)
tools/setup.sh "${setup_args[@]}"
tools/fetch_mnist.sh data/mnist
stage "set-up and data"

build ci
run_ctest ci

if [ "$full" = true ]; then
  build asan hdr hdr_unit_tests hdr_kernel_tests hdr_e2e_tests
  run_ctest asan -L 'unit|kernel|e2e'

  build fuzz
  tools/run_fuzzers.sh 60
  stage "fuzzers"

  build tsan
  run_ctest tsan
fi

echo "test: every stage passed:"
printf '  %s\n' "${stages[@]}"
printf '  %-34s %4d s\n' "total" "$SECONDS"
