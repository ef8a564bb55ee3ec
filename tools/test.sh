#!/usr/bin/env bash
# The README's test command: set-up, data, release build with warnings as errors (CUDA backend
# too when nvcc is found), a check that setup.sh installs every Debian package the build used,
# the whole test suite, then every CPU-side test again (unit, kernel: CPU kernels and every CUDA
# kernel through kernels/simt_host.h, e2e) under AddressSanitizer, LeakSanitizer and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

tools/setup.sh
tools/fetch_mnist.sh data/mnist

cmake --preset ci
cmake --build --preset ci -j "$jobs"
tools/check_build_deps.sh build/ci
ctest --preset ci -j "$jobs"

cmake --preset asan
cmake --build --preset asan -j "$jobs" --target hdr hdr_unit_tests hdr_kernel_tests hdr_e2e_tests
tools/check_build_deps.sh build/asan
ctest --preset asan -j "$jobs" -L 'unit|kernel|e2e'
