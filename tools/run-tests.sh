#!/usr/bin/env bash
# The whole suite: brownie contract tests on Anvil and on Ganache, then the plain pytest
# suites (unit, integration on real local nodes, browser in Debian chromium).
# Fails when any part fails or when pytest ran no test (its exit 5).
set -uo pipefail
cd "$(dirname "$0")/.."
export SOLCX_BINARY_PATH="$PWD/.venv/solcx"
export PATH="$PWD/.venv/bin:$PWD/node_modules/.bin:$PATH"
PY=.venv/bin/python
status=0

for engine in anvil ganache; do
  echo "=== contract tests (brownie) on $engine ==="
  $PY -m milktrace.brownie_env test --engine "$engine" -- tests/contracts || status=1
done

echo "=== lint (ruff, mypy) ==="
.venv/bin/ruff check src tests bench scripts demo || status=1
.venv/bin/mypy src/milktrace || status=1

echo "=== unit, integration and browser tests (pytest) ==="
# brownie's pytest plugin would take over any pytest run beside brownie-config.yaml.
$PY -m pytest -p no:pytest-brownie tests/unit tests/integration tests/browser "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "pytest ran no test: failing"; rc=1; fi
[ $rc -ne 0 ] && status=$rc
exit $status
