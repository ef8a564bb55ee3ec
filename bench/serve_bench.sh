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

work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
"$hdr" data --export "$work/png" --count 1 >/dev/null
"$hdr" serve "$model" --port 0 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log" >&2; echo "serve_bench: the server did not start" >&2; exit 1; }
sed -n 's/^serve: model/model/p' "$work/serve.log"
echo "wrk: 1 thread, $connections keep-alive connections, ${seconds} s, POST /predict (28x28 PNG, multipart)"
HDR_BENCH_PNG=$(ls "$work"/png/*.png) wrk -t1 -c"$connections" -d"${seconds}s" --latency -s bench/predict_post.lua \
  "http://127.0.0.1:$port"
