#!/usr/bin/env bash
# The one-shot device check: the first thing to run whenever a GPU is at hand, in one call.
# Builds hdr and its GPU tests for this machine's GPU only (its compute capability: a fraction
# of the default architectures' build time), then runs, each into its own log:
#   version    hdr --version (GPUs, CUDA, cuDNN, cuBLAS, CPU ISA as hdr sees them)
#   selftest   hdr selftest --device cuda (every op GPU against CPU, then 20 training steps)
#   ctest_gpu  ctest -L gpu with HDR_EXPECT_GPU=1 (a missing GPU fails instead of skipping): the
#              catalogue, synchronised batch norm's device kernels with two ranks on one GPU
#              against one process with the whole batch, and, where two GPUs are lent, two
#              ranks over NCCL (per-rank and synchronised batch norm) against one GPU
#   bench      hdr bench all --device all --json: training, inference and every op of the step
#              (CUDA events) on the GPU and the CPU side by side, with both devices' peaks
#   train      2 epochs of seed 000's CNN (configs/cnn_bn.ini) on the GPU with --profile (the
#              breakdown in train.log, profile.json in train/)
# and writes summary.txt (exit code and seconds of each) beside the logs. Every step runs even
# when an earlier one failed; the exit code is 1 if any failed. The figures go into
# bench/README.md with the GPU's name.
#
# usage: tools/gpu_check.sh [OUTPUT_DIR]   (default: $OUT when set, else gpu_check/)
# Without network (this workplace's device machines): run tools/gpu_bundle.sh first where apt
# works, carry .gpu_bundle, and this script takes the Debian packages (unpacked under /tmp,
# never into /) and the MNIST files from there. cuDNN is found in the toolkit or, failing that,
# in the nvidia-cudnn Python wheel.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu_check}}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
: >"$out/summary.txt"
started=$(date +%s)
failed=0

# step NAME COMMAND...: runs COMMAND into NAME.log, records its exit code and seconds.
step() {
  local name=$1 t0 rc
  shift
  echo "gpu_check: $name: $*"
  t0=$(date +%s)
  "$@" >"$out/$name.log" 2>&1
  rc=$?
  printf '%-10s exit %3d  %4d s\n' "$name" "$rc" "$(($(date +%s) - t0))" | tee -a "$out/summary.txt"
  [ "$rc" -eq 0 ] || failed=1
  return "$rc"
}

if ! nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader >"$out/gpu.txt" 2>&1; then
  echo "gpu_check: no GPU here (nvidia-smi: $(head -1 "$out/gpu.txt"))" >&2
  exit 2
fi
arch=$(head -1 "$out/gpu.txt" | cut -d, -f2 | tr -d ' .')
echo "gpu_check: $(head -1 "$out/gpu.txt") -> building for sm_$arch"

cmake_args=(-DCMAKE_BUILD_TYPE=Release -DHDR_CUDA=ON -DHDR_BENCH=OFF "-DCMAKE_CUDA_ARCHITECTURES=$arch")
if [ -d .gpu_bundle/debs ]; then
  root=/tmp/hdr-deps
  mkdir -p "$root"
  for deb in .gpu_bundle/debs/*.deb; do  # dpkg-deb where the image has it, else by hand
    dpkg-deb -x "$deb" "$root" 2>/dev/null || ar p "$deb" data.tar.xz | tar -xJ -C "$root"
  done
  lib="$root/usr/lib/x86_64-linux-gnu"
  # Found by CMake and pkg-config there, and by the binaries through their build-tree RUNPATH;
  # LD_LIBRARY_PATH stays as it is, so the image's own programs keep the image's libraries.
  export PATH="$root/usr/bin:$PATH" CPATH="$root/usr/include${CPATH:+:$CPATH}"
  export PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_LIBDIR="$lib/pkgconfig:$root/usr/share/pkgconfig"
  export LIBRARY_PATH="$lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
  cmake_args+=("-DCMAKE_PREFIX_PATH=$root/usr")
fi
if [ -d .gpu_bundle/mnist ]; then
  step data tools/fetch_mnist.sh --from .gpu_bundle/mnist --offline data/mnist
else
  step data tools/fetch_mnist.sh data/mnist
fi
# cuDNN from the Python wheel when the toolkit has none.
if ! ls /usr/local/cuda/lib64/libcudnn.so* /usr/local/cuda/lib/libcudnn.so* >/dev/null 2>&1; then
  wheel=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null || true)
  if [ -n "$wheel" ]; then
    cmake_args+=("-DHDR_CUDNN_LIBRARY=$(ls "$wheel"/lib/libcudnn.so* | head -1)" "-DHDR_CUDNN_INCLUDE_DIR=$wheel/include")
    export LD_LIBRARY_PATH="$wheel/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"  # cuDNN loads its engines by name
  fi
fi
command -v ninja >/dev/null && cmake_args+=(-G Ninja)

step configure cmake -S . -B build/gpu "${cmake_args[@]}" &&
  step build cmake --build build/gpu -j "$(nproc)" --target hdr hdr_gpu_tests
if [ -x build/gpu/hdr ]; then
  hdr=build/gpu/hdr
  step version "$hdr" --version
  step selftest "$hdr" selftest --device cuda
  step ctest_gpu env HDR_EXPECT_GPU=1 ctest --test-dir build/gpu -L gpu --output-on-failure
  step bench "$hdr" bench all --device all --json
  step train "$hdr" train configs/cnn_bn.ini --device cuda --set train.epochs=2 --profile --out "$out/train"
fi
printf 'total %d s\n' "$(($(date +%s) - started))" | tee -a "$out/summary.txt"
exit "$failed"
