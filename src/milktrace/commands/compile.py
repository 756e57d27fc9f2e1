"""`milktrace compile`: compile contracts/ with the pinned solc into build/milktrace/."""

from __future__ import annotations

import argparse

from milktrace.compiler import compile_project


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile the contracts (same settings as brownie compile)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    artifacts = compile_project()
    for art in artifacts.values():
        if art.source.startswith("contracts/") and len(art.bytecode) > 2:
            print(f"{art.name}: {len(art.deployed_bytecode) // 2 - 1} bytes deployed")
    return 0
