#!/usr/bin/env bash
# The README's main job: set-up, release build of the hdr binary only (not the tests), MNIST,
# then train the default model (seed 000's CNN) on the GPU when one is usable, else on the CPU.
# Extra arguments go to `hdr train`.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
tools/fetch_mnist.sh data/mnist
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target hdr
exec build/release/hdr train --device auto "$@"
