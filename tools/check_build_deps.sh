#!/usr/bin/env bash
# Fails when a build used a Debian package that tools/setup.sh does not install.
#
# A machine that has a package from earlier hand work builds fine and hides the missing install
# step until a fresh machine fails (it happened: oneDNN's CMake config needs the OpenCL loader,
# which libdnnl-dev only recommends). So after a build this derives what it actually used:
#   - headers, from the compiler's dependency files (*.o.d);
#   - the linker and libraries on the link lines (link.txt; -lname resolved as the linker would);
#   - the CMake package configs and find modules configure read (CMakeFiles/Makefile.cmake);
#   - the compilers, make, cmake and pkg-config the build ran (CMakeCache.txt);
# maps every file to its package through dpkg's file lists, and checks each package is among
# those apt would install for setup.sh's list on an empty system with --no-install-recommends
# (a simulation: first alternatives, as a fresh install picks them), in the base system
# (Essential or priority required), or the CUDA toolkit (files under nvcc's root, a folder of
# its own such as /usr/local/cuda-13.0, which setup.sh does not install).
# Files of the project (source and build folders) are skipped; any other file that no package
# owns is an error too, since it was installed by hand, and so is a packaged file whose
# checksum differs from the one dpkg recorded (edited by hand).
#
# Usage: tools/check_build_deps.sh [--packages "p1 p2 ..."] BUILD_DIR...
#   --packages  the list to check against (default: tools/setup.sh --list)
#   DPKG_ADMINDIR, as for dpkg, names the package database (default /var/lib/dpkg).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/.." && pwd)

packages=""
build_dirs=()
while (($#)); do
  case "$1" in
    --packages) packages="${2:?--packages needs a list}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "check_build_deps: unknown option $1" >&2; exit 2 ;;
    *) build_dirs+=("$1"); shift ;;
  esac
done
((${#build_dirs[@]})) || { echo "check_build_deps: give at least one build folder" >&2; exit 2; }
[ -n "$packages" ] || packages=$("$here/setup.sh" --list)
for dir in "${build_dirs[@]}"; do
  [ -f "$dir/CMakeCache.txt" ] || { echo "check_build_deps: $dir is not a configured build folder (no CMakeCache.txt)" >&2; exit 2; }
  # The evidence is Makefile-generator output (Ninja deletes depfiles and writes no link.txt):
  # anything else would pass having checked nothing.
  generator=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$dir/CMakeCache.txt")
  [ -z "$generator" ] || [ "$generator" = "Unix Makefiles" ] ||
    { echo "check_build_deps: $dir was generated for $generator; only Unix Makefiles builds can be checked" >&2; exit 2; }
done

admin=${DPKG_ADMINDIR:-/var/lib/dpkg}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cache_value() { sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt" | head -n 1; }
# nvcc, as the CUDA language was enabled with it (it is not always a cache entry).
cuda_compiler() {
  local file
  for file in "$1"/CMakeFiles/*/CMakeCUDACompiler.cmake; do
    [ -f "$file" ] && sed -n 's/^set(CMAKE_CUDA_COMPILER "\(.*\)")$/\1/p' "$file" | head -n 1
  done
  return 0
}

# 1. Every file the builds used, as absolute paths.
skip_roots=("$source_root")
for dir in "${build_dirs[@]}"; do
  skip_roots+=("$(cd "$dir" && pwd -P)")
  cxx=$(cache_value "$dir" CMAKE_CXX_COMPILER)
  nvcc=$(cuda_compiler "$dir")
  if [ -n "$nvcc" ]; then
    cuda_root=$(dirname "$(dirname "$(realpath -e "$nvcc")")")
    case "$cuda_root" in
      /|/usr|/usr/local) ;;  # a packaged nvcc: its files are checked like any other
      *) skip_roots+=("$cuda_root") ;;
    esac
  fi
  {
    find "$dir" -path '*CMakeFiles*' -name '*.o.d' -exec cat {} + | tr -s ' \t\\' '\n\n\n' | sed -n 's/:$//; /^\//p'
    find "$dir" -path '*CMakeFiles*' -name link.txt -exec cat {} + | tr -s ' \t' '\n\n' | grep '^/' || true
    for lib in $(find "$dir" -path '*CMakeFiles*' -name link.txt -exec cat {} + | tr -s ' \t' '\n\n' |
                 sed -n 's/^-l//p' | sort -u); do
      for name in "lib$lib.so" "lib$lib.a"; do
        found=$("$cxx" -print-file-name="$name")
        [ "$found" != "$name" ] && { echo "$found"; break; }
      done
    done
    [ ! -f "$dir/CMakeFiles/Makefile.cmake" ] || sed -n 's/^ *"\(\/[^"]*\)"$/\1/p' "$dir/CMakeFiles/Makefile.cmake"
    for key in CMAKE_CXX_COMPILER CMAKE_MAKE_PROGRAM CMAKE_COMMAND PKG_CONFIG_EXECUTABLE; do
      cache_value "$dir" "$key"
    done
  } >>"$work/used.raw"
done
# Keep existing files outside the project and the CUDA toolkit; pair each with its real path.
sort -u "$work/used.raw" | while IFS= read -r path; do
  [ -e "$path" ] || continue
  real=$(realpath -e "$path")
  for root in "${skip_roots[@]}"; do
    case "$real/" in "$root"/*) continue 2 ;; esac
    case "$path/" in "$root"/*) continue 2 ;; esac
  done
  printf '%s\t%s\n' "$path" "$real"
done >"$work/used"

# 2. Who owns each file (dpkg's lists; /usr-merged paths may be listed with or without /usr).
for list in "$admin"/info/*.list; do
  name=${list##*/}
  name=${name%.list}
  printf '%s\n' "${name%%:*}"
  cat "$list"
done >"$work/lists"
# owned: package (or -), the path as the package lists it, the path as the build named it.
awk -F'\t' '
  NR == FNR { if ($0 !~ /^\//) pkg = $0; else if (!($0 in owner)) owner[$0] = pkg; next }
  function find(p,    alt) {
    if (p in owner) return p
    alt = (p ~ /^\/usr\//) ? substr(p, 5) : "/usr" p
    return (alt in owner) ? alt : ""
  }
  { listed = find($1); if (listed == "") listed = find($2)
    print (listed == "" ? "-" : owner[listed]) "\t" listed "\t" $1 }
' "$work/lists" "$work/used" | sort -u >"$work/owned"

# A packaged file edited by hand is as invisible to a fresh machine as a missing package (it
# happened: a patched FindCUDAToolkit.cmake): compare with the checksums dpkg recorded.
for pkg in $(cut -f1 "$work/owned" | grep -vx -- - | sort -u); do
  cat "$admin/info/$pkg".md5sums "$admin/info/$pkg":*.md5sums 2>/dev/null || true
done | awk '{ print $1 "  /" $2 }' | sort -k2 >"$work/recorded"
cut -f2 "$work/owned" | grep '^/' | sort | join -1 2 -2 1 -o 1.1,1.2 "$work/recorded" - >"$work/to_verify" || true
md5sum --quiet -c "$work/to_verify" 2>/dev/null | sed -n 's/: FAILED$//p' >"$work/edited" || true

# 3. What a fresh machine has after setup.sh: what apt installs for its list on an empty system,
# and the base system.
: >"$work/empty-status"
# shellcheck disable=SC2086
apt-get -s -o Dir::State::status="$work/empty-status" install --no-install-recommends $packages 2>/dev/null \
  >"$work/simulated" || true  # a list apt cannot install allows nothing
sed -n 's/^Inst \([^ :]*\).*/\1/p' "$work/simulated" >"$work/allowed"
dpkg-query --admindir="$admin" -W -f='${Package}\t${Essential}\t${Priority}\n' | awk -F'\t' '$2 == "yes" || $3 == "required" { print $1 }' \
    >>"$work/allowed"
sort -u -o "$work/allowed" "$work/allowed"

# 4. Verdict: one line per missing package, with a file of it the build used.
awk -F'\t' 'FILENAME == ARGV[1] { ok[$1] = 1; next }
  FILENAME == ARGV[2] { edited[$1] = 1; next }
  $1 == "-" { unowned[$3] = 1; next }
  !($1 in ok) && !($1 in example) { example[$1] = $3 }
  $2 in edited { changed[$3] = $1 }
  END {
    for (p in example) printf "check_build_deps: the build used %s (e.g. %s), which tools/setup.sh does not install\n", p, example[p]
    for (f in unowned) printf "check_build_deps: the build used %s, which no Debian package owns (installed by hand?)\n", f
    for (f in changed) printf "check_build_deps: the build used %s, which differs from what %s ships (edited by hand?)\n", f, changed[f]
  }' "$work/allowed" "$work/edited" "$work/owned" | sort >"$work/verdict"

files=$(wc -l <"$work/used")
used_packages=$(cut -f1 "$work/owned" | { grep -vx -- - || true; } | sort -u | wc -l)
depfiles=$(for dir in "${build_dirs[@]}"; do find "$dir" -path '*CMakeFiles*' -name '*.o.d'; done | wc -l)
if [ "$depfiles" -eq 0 ]; then
  echo "check_build_deps: no compiler dependency files (*.o.d) in ${build_dirs[*]}: build first" >&2
  exit 2
fi
if [ -s "$work/verdict" ]; then
  cat "$work/verdict" >&2
  echo "check_build_deps: FAILED: a fresh machine gets only what tools/setup.sh installs, as its packages ship it (checked $files files of $used_packages packages)" >&2
  exit 1
fi
echo "check_build_deps: ok: the build used $files files from $used_packages Debian packages; setup.sh or the base system installs each"
