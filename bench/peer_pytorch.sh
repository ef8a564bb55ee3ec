#!/usr/bin/env bash
# Peer comparison: seed 000's recipe (configs/cnn_bn.ini) in hdr and in PyTorch on the CPU,
# alternated A B A B A B on the same threads; prints each round, the medians and hdr's
# advantage. The PyTorch side is bench/peer_pytorch.py (Debian's python3-torch; not a dependency
# of the build or the tests). What it measures and what the PyTorch side tried: bench/README.md.
set -euo pipefail

usage() {
  cat <<EOT
usage: bench/peer_pytorch.sh [--hdr PATH] [--threads N] [--rounds K] [--json FILE] [--quick]
  --hdr PATH    the hdr binary (default: build/release/hdr, else the first other build/*/hdr that is
                not asan, tsan, fuzz or debug, else hdr on PATH)
  --threads N   threads for both (default: $(nproc), the cores)
  --rounds K    rounds of hdr then PyTorch (default 3; 1 with --quick)
  --json FILE   also write the results as JSON
  --quick       tiny settings, to check the script itself (its figures mean nothing)

Measures, per round: one epoch of the recipe as a whole process (start-up, data, training,
validation, test, checkpoint), training images/s (batch 64, augmentation included), inference
images/s (batch 1000) and one-image latency. Env PYTHON: the interpreter to use.
EOT
}

hdr="" threads=$(nproc) rounds="" json="" quick=()
command="bench/peer_pytorch.sh $*"
here=$(pwd)
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
while (($#)); do
  case "$1" in
    --hdr | --threads | --rounds | --json)
      [ $# -ge 2 ] || { echo "peer_pytorch: $1 needs a value" >&2; usage >&2; exit 2; }
      case "$1" in
        --hdr) hdr=$2; [[ $hdr != */* ]] || hdr=$(absolute "$hdr") ;;  # a bare name: from PATH
        --threads) threads=$2 ;;
        --rounds) rounds=$2 ;;
        --json) json=$(absolute "$2") ;;
      esac
      shift 2 ;;
    --quick) quick=(--quick); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "peer_pytorch: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -z "$rounds" ]; then rounds=3; ((${#quick[@]} == 0)) || rounds=1; fi
[[ $threads =~ ^[1-9][0-9]*$ ]] || { echo "peer_pytorch: --threads takes a positive integer" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "peer_pytorch: --rounds takes a positive integer" >&2; exit 2; }
cd "$(dirname "$0")/.."

# The hdr binary: the release preset's, else another build's (not a sanitizer, fuzzing or debug
# build, whose speed means nothing here), else one on PATH.
if [ -z "$hdr" ]; then
  if [ -x build/release/hdr ]; then
    hdr=build/release/hdr
  else
    for candidate in build/*/hdr; do
      case "$candidate" in build/asan/* | build/tsan/* | build/fuzz/* | build/debug/*) continue ;; esac
      if [ -x "$candidate" ]; then hdr=$candidate; break; fi
    done
  fi
  [ -n "$hdr" ] || hdr=$(command -v hdr || true)
elif [[ $hdr != */* ]]; then
  hdr=$(command -v "$hdr" || echo "$hdr")
fi
if [ -z "$hdr" ] || [ ! -x "$hdr" ]; then
  echo "peer_pytorch: no hdr binary (${hdr:-none found}); build one (docs/building.md: cmake --preset release &&" \
    "cmake --build --preset release --target hdr) or pass --hdr PATH" >&2
  exit 1
fi

# A Python that has torch: $PYTHON, else python3 on PATH, else Debian's own /usr/bin/python3
# (where python3-torch installs; a pyenv or venv python3 earlier on PATH does not see it).
python=""
for candidate in ${PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import torch, numpy' 2>/dev/null; then
    python=$(command -v "$candidate")
    break
  fi
done
if [ -z "$python" ]; then
  echo "peer_pytorch: no python3 with PyTorch and numpy; install Debian's: apt-get install python3-torch" >&2
  echo "  (or point PYTHON at an interpreter that has torch)" >&2
  exit 1
fi

# The data, where configs/cnn_bn.ini reads it (both sides read the same IDX files).
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ ! -f "data/mnist/$f" ] && [ ! -f "data/mnist/$f.gz" ]; then
    echo "peer_pytorch: data/mnist/$f is missing; fetch MNIST with tools/fetch_mnist.sh data/mnist" >&2
    exit 1
  fi
done

exec "$python" bench/peer_pytorch.py compare --hdr "$hdr" --threads "$threads" --rounds "$rounds" \
  ${json:+--json "$json"} "${quick[@]}" --command "$command"
