#!/usr/bin/env bash
# Formats hdr's C++ and CUDA sources with clang-format 14 and the style in .clang-format.
#
#   tools/format.sh           reformats every source in place
#   tools/format.sh --check   changes nothing: lists the sources that are not formatted and fails
#                             (the test unit.sources_match_clang_format runs this)
#
# The sources: the files git tracks (a new file once it is `git add`ed) named *.h, *.cpp, *.cu
# or *.cuh, outside the fuzz corpus. CMake's templates (*.h.in) are not C++ until configured and
# are left alone.
# clang-format formats differently from one version to the next, so only version 14 (Debian 12's
# clang-format-14, which tools/setup.sh installs) is used: $CLANG_FORMAT where set, else
# clang-format-14, else clang-format; whichever it is must say it is version 14.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "format: unknown argument '$1' (--check, --help)" >&2; exit 2 ;;
esac
(($# <= 1)) || { echo "format: one argument at most (--check, --help)" >&2; exit 2; }

# The one list of what is formatted.
list_sources() {
  git ls-files -z -- '*.h' '*.cpp' '*.cu' '*.cuh' ':!:tests/fuzz/corpus/**'
}

if [ -n "${CLANG_FORMAT:-}" ]; then
  clang_format=$CLANG_FORMAT
else
  clang_format=$(command -v clang-format-14 || command -v clang-format || true)
fi
if [ -z "$clang_format" ] || ! version=$("$clang_format" --version 2>/dev/null); then
  echo "format: clang-format 14 not found (Debian 12: apt-get install clang-format-14, or run tools/setup.sh)" >&2
  exit 2
fi
major=$(sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p' <<<"$version")
if [ "$major" != 14 ]; then
  echo "format: $clang_format is not clang-format 14 ($version); other versions format differently." \
       "Install clang-format-14 (tools/setup.sh), or name it in CLANG_FORMAT" >&2
  exit 2
fi

git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  { echo "format: $(pwd) is not a git checkout: the sources are the files git tracks" >&2; exit 2; }
sources=()
while IFS= read -r -d '' file; do
  [ -f "$file" ] && sources+=("$file")  # a file deleted but not yet `git rm`ed is skipped
done < <(list_sources)
((${#sources[@]})) || { echo "format: no sources found" >&2; exit 2; }
jobs=$(nproc 2>/dev/null || echo 2)

if [ "$check" = false ]; then
  printf '%s\0' "${sources[@]}" | xargs -0 -n 16 -P "$jobs" "$clang_format" --style=file -i ||
    { echo "format: $clang_format failed (above)" >&2; exit 2; }
  echo "format: formatted ${#sources[@]} files with $clang_format (clang-format $major)"
  exit 0
fi

# --dry-run --Werror: clang-format writes nothing and fails on a file with something to change
# ("code should be clang-formatted [-Wclang-format-violations]"). Files go 16 to a process; a
# group that fails is checked again one file at a time, so that each file gets its own verdict
# (the messages of processes running side by side interleave). Each such file comes out as
# "unformatted<TAB>FILE", or "failed<TAB>FILE<TAB>MESSAGE" when clang-format could not read it.
# shellcheck disable=SC2016  # the inner script's variables are its own
verdicts=$(printf '%s\0' "${sources[@]}" | xargs -0 -n 16 -P "$jobs" sh -c '
  "$0" --style=file --dry-run --Werror --ferror-limit=1 "$@" >/dev/null 2>&1 && exit 0
  for file; do
    message=$("$0" --style=file --dry-run --Werror --ferror-limit=1 "$file" 2>&1) && continue
    case $message in
      *clang-format-violations*) printf "unformatted\t%s\n" "$file" ;;
      *) printf "failed\t%s\t%s\n" "$file" "$(printf "%s" "$message" | head -n 1)" ;;
    esac
  done' "$clang_format") || true
failed=$(awk -F'\t' '$1 == "failed" { print "  " $2 ": " $3 }' <<<"$verdicts" | sort)
unformatted=$(awk -F'\t' '$1 == "unformatted" { print "  " $2 }' <<<"$verdicts" | sort)
if [ -n "$failed" ]; then
  echo "format: $clang_format failed on:" >&2
  printf '%s\n' "$failed" >&2
fi
if [ -n "$unformatted" ]; then
  echo "format: $(wc -l <<<"$unformatted") of ${#sources[@]} files are not formatted as .clang-format says:"
  printf '%s\n' "$unformatted"
  echo "format: to fix, run tools/format.sh (it needs clang-format 14) and commit the result"
  exit 1
fi
[ -z "$failed" ] || exit 2
echo "format: ok: all ${#sources[@]} files are formatted (clang-format $major)"
