#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (tests/fuzz; the fuzz preset) for SECONDS each, one
# after another, starting from its seed corpus tests/fuzz/corpus/<target> (only read: what the
# fuzzer finds goes to BUILD_DIR/fuzz-corpus/<target>, kept for the next run). A crash, a leak, a
# sanitizer report, a timeout or running out of memory fails the script, naming the target, its
# log and the input that did it (saved under BUILD_DIR/fuzz-artifacts/<target>/; rerun it with
# `BUILD_DIR/tests/fuzz/<target> FILE`). Prints the executions and exec/s of each target.
#
# Usage: [FUZZ_SEED=S] tools/run_fuzzers.sh [SECONDS] [BUILD_DIR]   (defaults: 60, build/fuzz)
# FUZZ_SEED (default 1) fixes libFuzzer's random seed, so that a red CI run (tools/test.sh) can be
# replayed; FUZZ_SEED=0 draws a new one each run, for exploring.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
seed=${FUZZ_SEED:-1}
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "run_fuzzers: FUZZ_SEED must be a non-negative integer, not '$seed'" >&2; exit 2; }
build=${2:-build/fuzz}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "run_fuzzers: SECONDS must be a positive integer, not '$seconds'" >&2; exit 2; }
shopt -s nullglob
fuzzers=("$build"/tests/fuzz/fuzz_*)
((${#fuzzers[@]})) || { echo "run_fuzzers: no fuzz targets in $build/tests/fuzz: build the fuzz preset first" >&2; exit 2; }

failed=()
printf '%-18s %12s %9s %8s\n' target executions seconds exec/s
for fuzzer in "${fuzzers[@]}"; do
  name=$(basename "$fuzzer")
  seeds=tests/fuzz/corpus/$name
  [ -d "$seeds" ] || { echo "run_fuzzers: $name has no seed corpus $seeds" >&2; failed+=("$name"); continue; }
  mkdir -p "$build/fuzz-corpus/$name" "$build/fuzz-artifacts/$name" "$build/fuzz-logs"
  log=$build/fuzz-logs/$name.log
  # -timeout: seconds for one input (the largest images the limits allow decode in about one);
  # -rss_limit_mb: also the largest single allocation allowed.
  status=0
  "$fuzzer" -seed="$seed" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$name/" "$build/fuzz-corpus/$name" "$seeds" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
  if [ "$status" -ne 0 ] || [ -z "$runs" ]; then
    printf '%-18s FAILED (exit code %s): see %s\n' "$name" "$status" "$log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz finding|.*runtime error|.*Test unit written to|terminate called|  what\(\))' "$log" | head -n 12 || true
    failed+=("$name")
    continue
  fi
  printf '%-18s %12s %9s %8s\n' "$name" "$runs" "${took:-$seconds}" "$((runs / ${took:-$seconds}))"
done

if ((${#failed[@]})); then
  echo "run_fuzzers: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "run_fuzzers: ok: ${#fuzzers[@]} targets, ${seconds} s each, no crash, leak or sanitizer report"
