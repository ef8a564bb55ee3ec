#!/usr/bin/env bash
# Runs the README's quick-start commands as shown, so that a command the README gives cannot
# stop working unnoticed. The blocks it runs are the ```sh blocks right after a marker line:
#   <!-- quickstart -->                  runs anywhere
#   <!-- quickstart needs: gpu nsys -->  needs a GPU (nvidia-smi lists one) and the nsys program
# Each block runs with bash -euo pipefail in one scratch folder shared by the blocks in README
# order (a later block uses what an earlier one wrote), where configs/ and data/ are the
# repository's and build/release/hdr is the binary under test; so the README's paths work as
# written and nothing lands in the repository. Whatever a block leaves running (hdr serve) is
# stopped with it, and a block that runs past 300 s fails. Blocks that run hdr serve hold a lock,
# since two clones checked at once on one machine would both want port 8080.
#
# usage: tools/check_readme.sh HDR cpu|gpu [README]
#   cpu   the blocks that need no GPU: any failure fails (exit 1)
#   gpu   the blocks that need a GPU. Without one they are SKIPPED: exit 77 (ctest's skip), or
#         exit 1 with HDR_EXPECT_GPU=1, for a machine that has a GPU
# A block whose other needs are missing (nsys) is printed as SKIPPED and not counted as passed.
# A README with no block for the mode fails: a lost marker must not make the check pass.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if (($# < 2 || $# > 3)) || [[ $2 != cpu && $2 != gpu ]]; then
  echo "usage: tools/check_readme.sh HDR cpu|gpu [README]" >&2
  exit 2
fi
hdr=$(realpath "$1") mode=$2 readme=$(realpath "${3:-README.md}")
[ -x "$hdr" ] || { echo "check_readme: $1 is not an executable" >&2; exit 2; }
block_limit_s=300  # seconds one block may run before it is stopped and failed

scratch=$(mktemp -d "${TMPDIR:-/tmp}/hdr-readme.XXXXXX")
block_group=""
cleanup() {
  [ -z "$block_group" ] || kill -- "-$block_group" 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$scratch/run/build/release" "$scratch/blocks"
ln -s "$hdr" "$scratch/run/build/release/hdr"
ln -s "$repo/configs" "$scratch/run/configs"
ln -s "$repo/data" "$scratch/run/data"

# The blocks: "<line> <needs...>" in index.txt, the commands in blocks/<n>.sh.
: >"$scratch/blocks/index.txt"
if ! awk -v dir="$scratch/blocks" '
  /^<!-- quickstart( needs:[ a-z0-9_-]*)? -->$/ {
    needs = $0; sub(/^<!-- quickstart( needs:)?/, "", needs); sub(/ -->$/, "", needs)
    marker = NR; next
  }
  marker && !inside {
    if ($0 == "```sh") { inside = 1; n++; print marker, needs > (dir "/index.txt"); next }
    if ($0 != "") { print "check_readme: the marker on line " marker " is not followed by a ```sh block" > "/dev/stderr"; bad = 1; marker = 0 }
    next
  }
  inside && $0 == "```" { inside = 0; marker = 0; next }
  inside { print > (dir "/" n ".sh") }
  END { exit bad }
' "$readme"; then
  exit 1
fi

passed=0 failed=0 skipped=0 selected=0
have_gpu() { nvidia-smi -L 2>/dev/null | grep -q '^GPU '; }
n=0
while read -r line needs; do
  n=$((n + 1))
  needs_gpu=false
  [[ " $needs " == *" gpu "* ]] && needs_gpu=true
  if { [[ $mode == cpu ]] && $needs_gpu; } || { [[ $mode == gpu ]] && ! $needs_gpu; }; then continue; fi
  selected=$((selected + 1))
  where="$(basename "$readme"):$line"
  missing=""
  for need in $needs; do
    if [[ $need == gpu ]]; then
      have_gpu || missing+=", a GPU (nvidia-smi lists none)"
    elif ! command -v "$need" >/dev/null 2>&1; then
      missing+=", $need (not installed)"
    fi
  done
  if [ -n "$missing" ]; then
    echo "SKIPPED: the block after $where needs ${missing#, }"
    skipped=$((skipped + 1))
    continue
  fi
  echo "RUN: the block after $where"
  sed 's/^/  $ /' "$scratch/blocks/$n.sh"
  lock=/dev/null
  grep -q ' serve ' "$scratch/blocks/$n.sh" && lock="${TMPDIR:-/tmp}/hdr-check-readme-serve.lock"
  # timeout runs the block in a process group of its own and stops it after block_limit_s;
  # whatever the block leaves running (hdr serve) is in that group too, and is stopped with it.
  (cd "$scratch/run" && exec timeout -k 5 "$block_limit_s" flock -w "$block_limit_s" "$lock" \
    bash -euo pipefail "$scratch/blocks/$n.sh") >"$scratch/out.log" 2>&1 &
  block_group=$!
  wait "$block_group"
  rc=$?
  kill -- "-$block_group" 2>/dev/null
  block_group=""
  if ((rc == 0)); then
    echo "passed: the block after $where"
    passed=$((passed + 1))
  else
    echo "FAILED: the block after $where (exit $rc); its output:"
    tail -n 40 "$scratch/out.log" | sed 's/^/  | /'
    failed=$((failed + 1))
  fi
done <"$scratch/blocks/index.txt"

echo "check_readme ($mode): $passed passed, $failed failed, $skipped SKIPPED of $selected blocks"
if ((selected == 0)); then
  echo "check_readme: no <!-- quickstart --> block for '$mode' in $readme" >&2
  exit 1
fi
((failed == 0)) || exit 1
if [[ $mode == gpu ]] && ((passed == 0)); then
  if [[ ${HDR_EXPECT_GPU:-} == 1 ]]; then
    echo "check_readme: HDR_EXPECT_GPU=1 but the GPU blocks were skipped" >&2
    exit 1
  fi
  exit 77
fi
exit 0
