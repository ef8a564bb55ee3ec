#!/usr/bin/env bash
# The include-direction check: engine/ is one library per folder (engine/CMakeLists.txt), and an
# #include may only cross a seam the way the libraries' declared dependencies go.
#
#   tools/check_engine_includes.sh [ROOT]     ROOT: the source tree (default: this one)
#
# Fails, naming the file, the line and the seam, when
#   - a file in engine/A/ includes engine/B/... and B is not A, nor among the libraries A depends
#     on (DEPENDS of hdr_engine_library in engine/A/CMakeLists.txt, followed transitively);
#   - a library declares a dependency that is not below it in the architecture's order, so that
#     a wrong-way edge cannot be declared either (io must not depend on nn, inference not on
#     train, ...):
#       core < io < distributed < backends < profile < nn < inference < train < verify
#   - anything in engine/ or kernels/ includes tools/, tests/ or bench/, or kernels/ includes
#     engine/ (the kernels are below the engine).
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
cd "$root"

order=(core io distributed backends profile nn inference train verify)
order_text="${order[*]}"
order_text=${order_text// / < }
declare -A rank deps
for i in "${!order[@]}"; do rank[${order[$i]}]=$i; done

failures=0
fail() {
  echo "check_engine_includes: $*" >&2
  failures=$((failures + 1))
}

# DEPENDS of each library, read from its CMakeLists.txt (the call may span lines).
for lib in "${order[@]}"; do
  file=engine/$lib/CMakeLists.txt
  [[ -f $file ]] || { fail "$file is missing (engine/CMakeLists.txt lists the folders)"; continue; }
  deps[$lib]=$(tr '\n' ' ' <"$file" | grep -o "hdr_engine_library($lib [^)]*)" |
    sed -n 's/.*DEPENDS \([a-z ]*\).*/\1/p' | sed 's/ LINK.*//; s/ SOURCES.*//') || true
  deps[$lib]=$(echo ${deps[$lib]})  # one space between names
  for dep in ${deps[$lib]}; do
    if [[ -z ${rank[$dep]+x} ]]; then
      fail "$file: DEPENDS names '$dep', which is no engine library (${order[*]})"
    elif ((rank[$dep] >= rank[$lib])); then
      fail "$file: $lib must not depend on $dep (the order is $order_text)"
    fi
  done
done
for dir in engine/*/; do
  dir=${dir%/}
  [[ -n ${rank[${dir#engine/}]+x} ]] || fail "$dir/ is no library of the architecture (add it to the order here and to engine/CMakeLists.txt)"
done

# The libraries each one may include: itself and what it depends on, transitively (a declared
# cycle, already reported above, ends where it closes).
declare -A reach
closure() {
  local lib=$1 out=" $1 " dep
  reach[$lib]=$out
  for dep in ${deps[$lib]}; do
    [[ -n ${reach[$dep]+x} ]] || closure "$dep"
    out+="${reach[$dep]} "
  done
  reach[$lib]=$out
}
for lib in "${order[@]}"; do closure "$lib"; done

# file:line:library every quoted include names, for the sources of one tree.
includes() {
  grep -rnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' "$@" --include='*.h' --include='*.cpp' \
    --include='*.cu' --include='*.cuh' --include='*.in' | sed -E 's/:[[:space:]]*#[[:space:]]*include[[:space:]]*"/:/; s/"$//'
}

while IFS=: read -r file line target; do
  lib=${file#engine/}
  lib=${lib%%/*}
  case $target in
    tools/* | tests/* | bench/*) fail "$file:$line includes $target: engine/ must not depend on ${target%%/*}/" ;;
    engine/*/*)
      to=${target#engine/}
      to=${to%%/*}
      [[ -z ${reach[$lib]+x} || ${reach[$lib]} == *" $to "* ]] ||
        fail "$file:$line includes $target: $lib does not depend on $to (engine/$lib/CMakeLists.txt declares: ${deps[$lib]:-nothing})"
      ;;
  esac
done < <(includes engine)

while IFS=: read -r file line target; do
  case $target in
    engine/* | tools/* | tests/* | bench/*) fail "$file:$line includes $target: kernels/ must not depend on ${target%%/*}/" ;;
  esac
done < <(includes kernels)

if ((failures > 0)); then
  echo "check_engine_includes: $failures wrong-way includes or dependencies (the seams: engine/CMakeLists.txt)" >&2
  exit 1
fi
echo "check_engine_includes: ok (${#order[@]} libraries, every include follows their dependencies)"
