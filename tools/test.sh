#!/usr/bin/env bash
# The README's test command: set-up, data, release build with warnings as errors (CUDA backend
# too when nvcc is found), a check that setup.sh installs every Debian package the build used,
# the whole test suite, then every CPU-side test again (unit, kernel: CPU kernels and every CUDA
# kernel through kernels/simt_host.h, e2e) under AddressSanitizer, LeakSanitizer and UBSan; then
# every libFuzzer target for 60 s (tests/fuzz, clang, ASan + UBSan: any crash, leak or sanitizer
# report fails), and the kernel tests under ThreadSanitizer (a missing __syncthreads() in an
# emulated kernel is a data race it reports).
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

cmake --preset fuzz
cmake --build --preset fuzz -j "$jobs"
tools/check_build_deps.sh build/fuzz
tools/run_fuzzers.sh 60

cmake --preset tsan
cmake --build --preset tsan -j "$jobs"
tools/check_build_deps.sh build/tsan
ctest --preset tsan -j "$jobs"
