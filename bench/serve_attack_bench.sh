#!/usr/bin/env bash
# `hdr serve` under attack: wrk's valid POST /predict traffic (16 keep-alive connections, a
# 28x28 PNG each) alone, then with issue 27's rows D (100 slowloris connections) and E (4
# clients posting a 36-megapixel PNG in a loop) at the same time, on the loopback of one
# machine. Prints both runs and the throughput kept (the target: >= 50%, p99 <= 50 ms).
#   bench/serve_attack_bench.sh MODEL [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:?usage: bench/serve_attack_bench.sh MODEL [BUILD_DIR] [SECONDS]}"
build="${2:-build/release}"
seconds="${3:-10}"
command -v wrk >/dev/null || { echo "serve_attack_bench: wrk is missing (tools/setup.sh installs it)" >&2; exit 1; }
[ -x "$build/hdr_serve_attack" ] || { echo "serve_attack_bench: $build/hdr_serve_attack is not built" >&2; exit 1; }

source bench/serve_start.sh
start_serve "$build/hdr" "$model"

run_wrk() {
  HDR_BENCH_PNG=$(ls "$work"/png/*.png) wrk -t1 -c16 -d"${seconds}s" --latency -s bench/predict_post.lua \
    "http://127.0.0.1:$port" | tee "$work/$1.txt"
}
echo "== valid traffic alone: wrk, 1 thread, 16 connections, ${seconds} s"
run_wrk alone
echo "== the same with 100 slowloris connections and 4 clients posting a 6000x6000 PNG"
"$build/hdr_serve_attack" "$port" "$((seconds + 2))" --slowloris 100 --huge-png 4 >"$work/attack.txt" &
attack=$!
sleep 1
run_wrk attacked
wait "$attack"
cat "$work/attack.txt"
rate() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/$1.txt"; }
p99() { sed -n 's/^ *99% *\(.*\)$/\1/p' "$work/$1.txt"; }
echo "kept $(awk -v a="$(rate attacked)" -v b="$(rate alone)" 'BEGIN { printf "%.0f", 100 * a / b }')% of the" \
  "throughput ($(rate attacked) of $(rate alone) req/s); p99 $(p99 attacked) under attack, $(p99 alone) alone"
for run in alone attacked; do
  if [ -z "$(rate $run)" ] || ! grep -q '^non-200 answers: 0$' "$work/$run.txt"; then
    echo "serve_attack_bench: valid requests failed in the $run run" >&2
    exit 1
  fi
done
