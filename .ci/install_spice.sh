#!/usr/bin/env bash
# Install ngspice (batch executable + shared library) for the SPICE
# cross-checks (`spu validate`, tests marked `spice`). Called by .ci/run.
# Uses sudo when not root; does nothing for ngspice when it is already installed.
set -euo pipefail
if ! command -v ngspice >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install_spice.sh: need root or sudo to apt-get install ngspice" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends ngspice libngspice0 libngspice0-dev
fi
ngspice --version | grep -m1 -o 'ngspice-[0-9.]*' || true
