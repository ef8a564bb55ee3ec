#!/usr/bin/env bash
# End-to-end speed of `hdr predict` on a folder of PNG files (the MNIST test set, exported by
# `hdr data --export`): the wall time of the whole command, start-up, model load, file reads,
# decoding, preprocessing and inference included (bench/README.md records results).
#   bench/predict_bench.sh MODEL [HDR_BINARY] [COUNT] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:?usage: bench/predict_bench.sh MODEL [HDR_BINARY] [COUNT] [RUNS]}"
hdr="${2:-build/release/hdr}"
count="${3:-10000}"
runs="${4:-3}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$hdr" data --export "$work/png" --count "$count" >/dev/null
cat "$work"/png/*.png >/dev/null  # the first run should not be the one that reads the disk
for run in $(seq "$runs"); do
  start=$(date +%s%N)
  "$hdr" predict "$model" "$work/png" --device cpu >"$work/out.txt" 2>"$work/err.txt"
  end=$(date +%s%N)
  right=$(sed -n 's/.*-\([0-9]\)\.png: \([0-9]\) .*/\1 \2/p' "$work/out.txt" | awk '$1 == $2 { n++ } END { print n + 0 }')
  awk -v n="$count" -v ns=$((end - start)) -v run="$run" -v right="$right" 'BEGIN {
    s = ns / 1e9; printf "run %d: %d images in %.3f s wall: %.0f images/s end to end (%d classified as their label)\n", run, n, s, n / s, right }'
done
sed -n 's/^predict: /hdr says: /p' "$work/err.txt"
