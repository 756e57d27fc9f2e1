# The two commands: `make demo` and `make test`. Both run `make setup` first (idempotent).
SHELL := /bin/bash
PY := .venv/bin/python
export SOLCX_BINARY_PATH := $(CURDIR)/.venv/solcx
export PATH := $(CURDIR)/.venv/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup demo test test-fast test-contracts test-contracts-ganache bench lint clean

setup:
	@tools/setup.sh

ENGINE ?= anvil

demo: setup
	$(PY) -m milktrace.cli demo --engine $(ENGINE)

# The whole suite (the README's test command; .ci/run calls it).
test: setup
	tools/run-tests.sh

# Brownie contract suite on one engine (make test runs it on both).
test-contracts: setup
	$(PY) -m milktrace.brownie_env test --engine anvil -- tests/contracts

test-contracts-ganache: setup
	$(PY) -m milktrace.brownie_env test --engine ganache -- tests/contracts

bench: setup
	$(PY) bench/gas.py
	$(PY) bench/capacity.py

lint: setup
	.venv/bin/ruff check src tests bench scripts demo
	.venv/bin/mypy src/milktrace

clean:
	rm -rf build .setup-stamps reports test-artifacts
