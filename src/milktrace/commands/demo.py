"""`milktrace demo`: Normandy farms to a Shanghai shelf on a local chain (see milktrace.demo)."""

from __future__ import annotations

import argparse
from pathlib import Path

from milktrace.node import ENGINES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole story on a local chain and serve the page")
    p.add_argument("--engine", choices=ENGINES, default="anvil")
    p.add_argument("--no-serve", action="store_true",
                   help="leave the node running and exit with the manifest path")
    p.add_argument("--port", type=int, help="port for the scan page (default: a free one)")
    p.add_argument("--base-url", help="base URL encoded in the QR labels (default: the page)")
    p.add_argument("--fresh", action="store_true", help="start from an empty chain")
    p.add_argument("--stop", action="store_true", help="stop the node a --no-serve run left")
    p.add_argument("--workdir", type=Path, help="demo state folder (default: .milktrace/demo)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from milktrace import demo

    if args.stop:
        print("stopped the demo node" if demo.stop_node(args.workdir) else "no demo node running")
        return 0
    opts = demo.DemoOptions(engine=args.engine, serve=not args.no_serve, port=args.port,
                            base_url=args.base_url, workdir=args.workdir, fresh=args.fresh)
    result = demo.run_demo(opts)
    if args.no_serve:
        print(f"\nnode left running at {result.rpc_url} (stop it: milktrace demo --stop)")
        print(result.manifest)
        return 0
    demo.serve_forever(result)
    return 0
