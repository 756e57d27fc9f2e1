"""`milktrace node`: a local chain on a free port until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from milktrace.node import ENGINES, LocalNode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("node", help="run a local chain (Anvil or Ganache) on a free port")
    p.add_argument("--engine", choices=ENGINES, default="anvil")
    p.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    p.add_argument("--block-time", type=float, help="mine every S seconds (testnet-like)")
    p.add_argument("--state", type=Path, help="keep the chain in FILE (anvil) / DIR (ganache)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    node = LocalNode(engine=args.engine, port=args.port, block_time=args.block_time,
                     state=args.state)
    node.start()
    try:
        print(f"engine:   {node.engine}")
        print(f"rpc:      {node.url}")
        print(f"chain id: {node.chain_id}")
        print("accounts (funded, unlocked on this node):")
        for account in node.dev_accounts():
            print(f"  {account}")
        print("Ctrl-C stops the node.", flush=True)
        while not stop.wait(0.5):
            if node.process is None or node.process.poll() is not None:
                print("node exited")
                return 1
    finally:
        node.stop()
    return 0
