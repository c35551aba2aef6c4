#!/usr/bin/env bash
# Installs what bin/flowgate needs, explicitly: Node.js 24 into .tools/ when the machine's Node is
# older, then the dependencies (npm ci, which replaces node_modules). Run it after a clone and after
# every update of the checkout; bin/flowgate itself never installs anything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FLOWGATE_INSTALL=always exec "$root/scripts/node.sh" node -e \
  'console.error("flowgate: installed Node.js %s and the dependencies; run bin/flowgate --help", process.versions.node)'
