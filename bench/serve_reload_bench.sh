#!/usr/bin/env bash
# A model reload under load (issue 29): wrk posts /predict for SECONDS while the served file
# alternates between MODEL_A and MODEL_B (same name and input; replaced by a rename) and the
# server loads it again every second (POST /v2/repository/models/{name}/load). Prints wrk's
# figures, the loads done and the answers that were not 200 (there must be none).
#   bench/serve_reload_bench.sh MODEL_A MODEL_B [HDR_BINARY] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: bench/serve_reload_bench.sh MODEL_A MODEL_B [HDR_BINARY] [SECONDS] [CONNECTIONS]"
model_a="${1:?$usage}"
model_b="${2:?$usage}"
hdr="${3:-build/release/hdr}"
seconds="${4:-10}"
connections="${5:-8}"
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "serve_reload_bench: $tool is missing (tools/setup.sh installs it)" >&2; exit 1; }
done

served=$(mktemp -d)
cp "$model_a" "$served/model.hdr"
source bench/serve_start.sh
start_serve "$hdr" "$served/model.hdr"
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work" "$served"' EXIT
name=$(curl -sf "http://127.0.0.1:$port/health" | sed -n 's/.*"model":"\([^"]*\)".*/\1/p')

HDR_BENCH_PNG=$(ls "$work"/png/*.png) wrk -t1 -c"$connections" -d"${seconds}s" --latency -s bench/predict_post.lua \
  "http://127.0.0.1:$port" >"$work/wrk.txt" &
wrk_pid=$!
loads=0 failed_loads=0
for i in $(seq $((seconds - 1))); do
  sleep 1
  [ $((i % 2)) -eq 1 ] && next="$model_b" || next="$model_a"
  cp "$next" "$served/model.new" && mv "$served/model.new" "$served/model.hdr"
  if curl -sf -d "" "http://127.0.0.1:$port/v2/repository/models/$name/load" >/dev/null; then
    loads=$((loads + 1))
  else
    failed_loads=$((failed_loads + 1))
  fi
done
wait "$wrk_pid"
cat "$work/wrk.txt"
echo "model loads during the run: $loads done, $failed_loads failed"
grep -q "^non-200 answers: 0$" "$work/wrk.txt" && [ "$failed_loads" -eq 0 ]
