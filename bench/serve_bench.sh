#!/usr/bin/env bash
# Throughput and latency of `hdr serve`'s POST /predict with a 28x28 PNG over keep-alive
# connections on loopback, load from wrk on the same machine (bench/README.md records results).
#   bench/serve_bench.sh MODEL [HDR_BINARY] [SECONDS] [CONNECTIONS]
# The server runs with its defaults (one worker per core, access log on, sent to /dev/null).
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:?usage: bench/serve_bench.sh MODEL [HDR_BINARY] [SECONDS] [CONNECTIONS]}"
hdr="${2:-build/release/hdr}"
seconds="${3:-10}"
connections="${4:-8}"
command -v wrk >/dev/null || { echo "serve_bench: wrk is missing (tools/setup.sh installs it)" >&2; exit 1; }

source bench/serve_start.sh
start_serve "$hdr" "$model"
echo "wrk: 1 thread, $connections keep-alive connections, ${seconds} s, POST /predict (28x28 PNG, multipart)"
HDR_BENCH_PNG=$(ls "$work"/png/*.png) wrk -t1 -c"$connections" -d"${seconds}s" --latency -s bench/predict_post.lua \
  "http://127.0.0.1:$port"
