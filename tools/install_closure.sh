#!/usr/bin/env bash
# Prints, one a line, the Debian packages apt would install for PACKAGES on an empty system with
# --no-install-recommends (a simulation: first alternatives, as a fresh install picks them): what
# a fresh machine has from tools/setup.sh. Fails when apt cannot resolve the list.
# Usage: tools/install_closure.sh PACKAGE...
set -euo pipefail
simulated=$(apt-get -s -o Dir::State::status=/dev/null install --no-install-recommends "$@")
sed -n 's/^Inst \([^ :]*\).*/\1/p' <<<"$simulated"
