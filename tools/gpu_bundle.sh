#!/usr/bin/env bash
# Prepares .gpu_bundle/ for tools/gpu_check.sh on a GPU machine that can reach no package
# registry (this workplace's device machines have the CUDA toolkit, CMake and a compiler, but no
# Debian packages of ours and no network): the Debian packages the build of hdr and its GPU
# tests needs, as .deb files (gpu_check.sh unpacks them under /tmp, never into /), and the MNIST
# IDX files gzipped. Run it here, where apt works and data/mnist is filled; then carry
# .gpu_bundle to the GPU machine (about 25 MB) and run tools/gpu_check.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."

bundle=.gpu_bundle
# What CMakeLists.txt finds for the hdr binary and the GPU tests (no benchmarks, no browser),
# with the runtime libraries and headers those packages depend on.
packages=(
  libfmt-dev libfmt9 libinih-dev libinih1 libinireader0 libcli11-dev
  libdnnl-dev libdnnl2 ocl-icd-opencl-dev ocl-icd-libopencl1 opencl-c-headers opencl-clhpp-headers
  libstb-dev libstb0 libcpp-httplib-dev libcpp-httplib0.11 libbrotli-dev libbrotli1 libssl-dev libssl3
  nlohmann-json3-dev zlib1g-dev zlib1g googletest libgtest-dev libgmock-dev
  pkgconf pkgconf-bin libpkgconf3 pkg-config
)

tools/fetch_mnist.sh data/mnist
rm -rf "$bundle"
mkdir -p "$bundle/debs" "$bundle/mnist"
(cd "$bundle/debs" && apt-get -o APT::Sandbox::User=root download "${packages[@]}" >/dev/null)
for f in data/mnist/*-ubyte; do gzip -c "$f" >"$bundle/mnist/$(basename "$f").gz"; done
echo "gpu_bundle: $bundle holds ${#packages[@]} packages and the MNIST files ($(du -sh "$bundle" | cut -f1)):" \
     "carry it with the working tree and run tools/gpu_check.sh on the GPU machine"
