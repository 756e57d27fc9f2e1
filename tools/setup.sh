#!/usr/bin/env bash
# make setup: idempotent. Each step checks a stamp (a hash of its inputs) and does nothing
# when its inputs have not changed, so a second run takes seconds and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SOLC_VERSION=$(sed -n "s/^    version: *//p" brownie-config.yaml | head -1)
STAMPS=.setup-stamps
mkdir -p "$STAMPS"

say() { printf '[setup] %s\n' "$*"; }
fresh() { # fresh NAME INPUT...: true when the stamp matches the inputs' hash
  local want; want=$(cat "${@:2}" | sha256sum | cut -c1-64)
  [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$want" ]
}
stamp() { cat "${@:2}" | sha256sum | cut -c1-64 > "$STAMPS/$1"; }

# 1. Python: .venv with eth-brownie and everything else under brownie's pins (constraints.txt).
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
  rm -f "$STAMPS/python"
fi
if ! fresh python constraints.txt pyproject.toml; then
  say "installing Python packages (eth-brownie 1.22.2 pins web3, eth-account, py-solc-x, pytest)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt \
    eth-brownie wheel -e ".[dev]"
  stamp python constraints.txt pyproject.toml
fi

# 2. npm: solc-js, OpenZeppelin, anvil, ganache, ethers from the committed lock file.
if [ ! -d node_modules ] || ! fresh npm package-lock.json; then
  say "npm ci (solc-js, @openzeppelin/contracts, anvil, ganache, ethers)"
  npm ci --no-audit --no-fund --loglevel=error
  stamp npm package-lock.json
fi

# 3. The Solidity compiler: a native solc of the pinned version if one is installed,
#    otherwise the solc-js adapter, found by py-solc-x and brownie as $SOLCX_BINARY_PATH/solc-vX.
SOLCX_DIR="$ROOT/.venv/solcx"
mkdir -p "$SOLCX_DIR"
target="$ROOT/tools/solc/solc-adapter.js"
native="$HOME/.solcx/solc-v$SOLC_VERSION"
if [ -x "$native" ] && "$native" --version 2>/dev/null | grep -q "Version: $SOLC_VERSION+"; then
  target="$native"
fi
if [ "$(readlink "$SOLCX_DIR/solc-v$SOLC_VERSION" 2>/dev/null)" != "$target" ]; then
  say "solc $SOLC_VERSION -> $target"
  ln -sfn "$target" "$SOLCX_DIR/solc-v$SOLC_VERSION"
fi
# Every Python in the venv (milktrace, brownie, pytest) finds that folder without exporting anything.
pth=$(echo .venv/lib/python3*/site-packages)/milktrace_solcx.pth
line="import os; os.environ.setdefault('SOLCX_BINARY_PATH', '$SOLCX_DIR')"
if [ "$(cat "$pth" 2>/dev/null)" != "$line" ]; then echo "$line" > "$pth"; fi
# brownie launches local nodes by command name: put them beside it in .venv/bin.
for tool in anvil ganache; do
  if [ "$(readlink ".venv/bin/$tool" 2>/dev/null)" != "$ROOT/node_modules/.bin/$tool" ]; then
    ln -sfn "$ROOT/node_modules/.bin/$tool" ".venv/bin/$tool"
  fi
done

# 4. Chromium for the browser tests (Debian package; never a downloaded browser build), and a
#    CJK font so Chinese text renders in it.
apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || apt_missing+=(fonts-wqy-microhei)
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian ${apt_missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
  else
    say "missing Debian packages ${apt_missing[*]} and this is not root: run 'sudo apt-get install ${apt_missing[*]}'; browser tests will be skipped"
  fi
fi

# 5. brownie networks milktrace-anvil / milktrace-ganache under ~/.brownie (once).
.venv/bin/python -m milktrace.brownie_env register --quiet

say "ready"
