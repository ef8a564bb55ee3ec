#!/usr/bin/env bash
# The README's test command: set-up, data, release build (CUDA backend too when nvcc is found),
# the whole test suite, then the CPU and emulated-kernel tests again under ASan + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

tools/setup.sh
tools/fetch_mnist.sh data/mnist

cmake --preset release
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

cmake --preset asan
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs" -L 'unit|kernel'
