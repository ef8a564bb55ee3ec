#!/usr/bin/env bash
# Fails when a build used a Debian package that tools/setup.sh does not install.
#
# A machine that has a package from earlier hand work builds fine and hides the missing install
# step until a fresh machine fails (it happened: oneDNN's CMake config needs the OpenCL loader,
# which libdnnl-dev only recommends). So after a build this derives what it actually used:
#   - headers, from the compiler's dependency files (*.o.d, and *.gch.d for the precompiled headers);
#   - the linker and libraries on the link lines (link.txt; -lname resolved as the linker would);
#   - the CMake package configs and find modules configure read (CMakeFiles/Makefile.cmake);
#   - the compilers, ccache, make, cmake and pkg-config the build ran (CMakeCache.txt);
# maps every file to its package through dpkg's file lists, and checks each package is among
# those apt would install for setup.sh's list on an empty system (tools/install_closure.sh), in
# the base system
# (Essential or priority required), or the CUDA toolkit (files under nvcc's root, a folder of
# its own such as /usr/local/cuda-13.0, which setup.sh does not install).
# Files of the project (source and build folders) are skipped; any other file that no package
# owns is an error too, since it was installed by hand.
# A packaged file whose checksum differs from the one dpkg recorded (`dpkg --verify`: edited by
# hand) is reported with its package and dpkg's verdict. It fails the check only when strict
# (--strict, or CI=true): a user's machine may ship such a file (this project's machine image
# ships an edited FindCUDAToolkit.cmake) and hdr builds with the stock one, so it is the user's
# system, not their test run, that needs attention. CI builds on restored packages
# (tools/setup.sh --pristine), so there an edit the build needed would already have failed it.
#
# Usage: tools/check_build_deps.sh [--strict] [--packages "p1 p2 ..."] BUILD_DIR...
#   --strict    a used packaged file edited by hand fails the check (default when CI=true)
#   --packages  the list to check against (default: tools/setup.sh --list)
#   DPKG_ADMINDIR, as for dpkg, names the package database (default /var/lib/dpkg).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/.." && pwd)

packages=""
build_dirs=()
strict=false
[ "${CI:-}" != true ] || strict=true
while (($#)); do
  case "$1" in
    --strict) strict=true; shift ;;
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

depfiles=$(for dir in "${build_dirs[@]}"; do find "$dir" -path '*CMakeFiles*' -name '*.o.d'; done | wc -l)
if [ "$depfiles" -eq 0 ]; then
  echo "check_build_deps: no compiler dependency files (*.o.d) in ${build_dirs[*]}: build first" >&2
  exit 2
fi

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
    find "$dir" -path '*CMakeFiles*' \( -name '*.o.d' -o -name '*.gch.d' \) -exec cat {} + | tr -s ' \t\\' '\n\n\n' | sed -n 's/:$//; /^\//p'
    find "$dir" -path '*CMakeFiles*' -name link.txt -exec cat {} + | tr -s ' \t' '\n\n' | grep '^/' || true
    for lib in $(find "$dir" -path '*CMakeFiles*' -name link.txt -exec cat {} + | tr -s ' \t' '\n\n' |
                 sed -n 's/^-l//p' | sort -u); do
      for name in "lib$lib.so" "lib$lib.a"; do
        found=$("$cxx" -print-file-name="$name")
        [ "$found" != "$name" ] && { echo "$found"; break; }
      done
    done
    [ ! -f "$dir/CMakeFiles/Makefile.cmake" ] || sed -n 's/^ *"\(\/[^"]*\)"$/\1/p' "$dir/CMakeFiles/Makefile.cmake"
    for key in CMAKE_CXX_COMPILER CMAKE_MAKE_PROGRAM CMAKE_COMMAND PKG_CONFIG_EXECUTABLE HDR_CCACHE_PROGRAM; do
      cache_value "$dir" "$key"
    done
  } >>"$work/used.raw"
done
# Keep existing files outside the project and the CUDA toolkit; pair each with its real path
# (one realpath for all: thousands of files).
sort -u "$work/used.raw" | while IFS= read -r path; do
  [ ! -e "$path" ] || printf '%s\n' "$path"
done >"$work/existing"
xargs -r -d '\n' realpath -e -- <"$work/existing" >"$work/real"
printf '%s\n' "${skip_roots[@]}" >"$work/skip_roots"
paste "$work/existing" "$work/real" | awk -F'\t' '
  NR == FNR { root[$0 "/"] = 1; next }
  { for (r in root) if (index($1 "/", r) == 1 || index($2 "/", r) == 1) next; print }
' "$work/skip_roots" - >"$work/used"

# 2. Who owns each file (dpkg's lists; /usr-merged paths may be listed with or without /usr).
# owned: package (or -), the path as the package lists it, the path as the build named it, the
# package as dpkg names it where several architectures are installed (e.g. libc6:amd64).
awk -F'\t' '
  FILENAME ~ /\.list$/ {
    if (FNR == 1) { qualified = FILENAME; sub(/.*\//, "", qualified); sub(/\.list$/, "", qualified)
                    pkg = qualified; sub(/:.*/, "", pkg) }
    if (!($0 in owner)) { owner[$0] = pkg; owner_qualified[$0] = qualified }
    next
  }
  function find(p,    alt) {
    if (p in owner) return p
    alt = (p ~ /^\/usr\//) ? substr(p, 5) : "/usr" p
    return (alt in owner) ? alt : ""
  }
  { listed = find($1); if (listed == "") listed = find($2)
    print (listed == "" ? "-\t\t" $1 "\t-" : owner[listed] "\t" listed "\t" $1 "\t" owner_qualified[listed]) }
' "$admin"/info/*.list "$work/used" | sort -u >"$work/owned"

# A packaged file edited by hand is as invisible to a fresh machine as a missing package (it
# happened: a patched FindCUDAToolkit.cmake). dpkg compares with the checksums it recorded;
# edited: dpkg's verdict (e.g. ??5??????) and the path, for the used files with a changed checksum.
# (With no package named, dpkg would verify every package on the system.)
# dpkg --verify reports differences with exit code 0; anything else means it could not check.
cut -f4 "$work/owned" | { grep -vx -- - || true; } | sort -u >"$work/used_packages"
: >"$work/verify.out"
if [ -s "$work/used_packages" ]; then
  status=0
  # shellcheck disable=SC2046
  dpkg --admindir="$admin" --verify $(cat "$work/used_packages") >"$work/verify.out" 2>"$work/verify.err" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "check_build_deps: dpkg --verify could not check the packages the build used (exit code $status):" >&2
    cat "$work/verify.err" >&2
    exit 2
  fi
fi
awk '$1 ~ /^..5/ { print $1 "\t" $NF }' "$work/verify.out" | sort -t "$(printf '\t')" -k2,2 >"$work/verified"
cut -f2 "$work/owned" | grep '^/' | sort -u | join -t "$(printf '\t')" -1 2 -2 1 -o 1.1,1.2 "$work/verified" - \
  >"$work/edited" || true

# 3. What a fresh machine has after setup.sh: what apt installs for its list on an empty system,
# and the base system.
# shellcheck disable=SC2086
"$here/install_closure.sh" $packages >"$work/allowed" 2>/dev/null || : >"$work/allowed"  # a list apt cannot install allows nothing
dpkg-query --admindir="$admin" -W -f='${Package}\t${Essential}\t${Priority}\n' | awk -F'\t' '$2 == "yes" || $3 == "required" { print $1 }' \
    >>"$work/allowed"
sort -u -o "$work/allowed" "$work/allowed"

# 4. Verdict: one line per missing package, with a file of it the build used; one per edited file.
awk -F'\t' 'FILENAME == ARGV[1] { ok[$1] = 1; next }
  FILENAME == ARGV[2] { edited[$2] = $1; next }
  $1 == "-" { unowned[$3] = 1; next }
  !($1 in ok) && !($1 in example) { example[$1] = $3 }
  $2 in edited { changed[$3] = $1; verdict[$3] = edited[$2] }
  END {
    for (p in example) printf "error\tthe build used %s (e.g. %s), which tools/setup.sh does not install\n", p, example[p]
    for (f in unowned) printf "error\tthe build used %s, which no Debian package owns (installed by hand?)\n", f
    for (f in changed)
      printf "edited\tthe build used %s, which differs from what %s ships (dpkg --verify: %s; edited by hand?): a fresh machine has the packaged file; apt-get install --reinstall %s restores it\n",
             f, changed[f], verdict[f], changed[f]
  }' "$work/allowed" "$work/edited" "$work/owned" | sort >"$work/findings"
if [ "$strict" = true ]; then
  sed 's/^[a-z]*\t/check_build_deps: /' "$work/findings" >"$work/verdict"
else
  sed -n 's/^error\t/check_build_deps: /p' "$work/findings" >"$work/verdict"
  sed -n 's/^edited\t/check_build_deps: warning: /p' "$work/findings" >&2
  if grep -q '^edited' "$work/findings"; then
    echo "check_build_deps: warning: an edited system file fails the check only in CI (CI=true) or with --strict; CI builds with such packages reinstalled (tools/setup.sh --pristine)" >&2
  fi
fi

files=$(wc -l <"$work/used")
used_packages=$(cut -f1 "$work/owned" | { grep -vx -- - || true; } | sort -u | wc -l)
if [ -s "$work/verdict" ]; then
  cat "$work/verdict" >&2
  echo "check_build_deps: FAILED: a fresh machine gets only what tools/setup.sh installs, as its packages ship it (checked $files files of $used_packages packages)" >&2
  exit 1
fi
warned=""
grep -q '^edited' "$work/findings" && warned=" (and the warning above)"
echo "check_build_deps: ok: the build used $files files from $used_packages Debian packages; setup.sh or the base system installs each$warned"
