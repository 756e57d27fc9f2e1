"""`milktrace serve`: the scan page, with GS1 Digital Link paths rewritten to it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from milktrace import serve
from milktrace.errors import MilktraceError

log = logging.getLogger(__name__)

DEFAULT_RPC = "http://127.0.0.1:8545"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="serve the scan page; /01/{GTIN}/10/{lot} opens it for that batch",
        description="Serves frontend/ and rewrites Digital Link paths to index.html. With --rpc "
                    "or --deployment the page's config/chain.json is built from the manifest; "
                    "otherwise the one `milktrace deploy` wrote is served.")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for phones on the LAN)")
    p.add_argument("--rpc", metavar="URL",
                   help="JSON-RPC URL the page reads (default: the page config's, else "
                        f"$MILKTRACE_RPC or {DEFAULT_RPC})")
    p.add_argument("--deployment", type=Path, metavar="FILE",
                   help="deployment manifest (default: deployments/<chainId>.json)")
    p.add_argument("--explorer", metavar="URL", help="block explorer base URL for proof links")
    p.add_argument("--products", type=Path, metavar="FILE",
                   help="product names by GTIN (default: frontend/config/products.json)")
    p.set_defaults(func=run)


def chain_config(args: argparse.Namespace, root: Path) -> dict | None:
    """The page config to serve, or None to serve frontend/config/chain.json as it is."""
    from milktrace.chain import Deployment, connect, manifest_path

    existing_path = root / "config" / "chain.json"
    existing = None
    if existing_path.is_file():
        existing = json.loads(existing_path.read_text(encoding="utf-8"))
    if args.rpc is None and args.deployment is None:
        if existing is not None:
            if args.explorer:
                return {**existing, "explorer": args.explorer}
            return None
        log.warning("no %s: looking for a node at the default RPC URL", existing_path)
    rpc = (args.rpc or (existing or {}).get("rpcUrl") or os.environ.get("MILKTRACE_RPC")
           or DEFAULT_RPC)
    if args.deployment is not None:
        dep = Deployment.load(args.deployment)
    else:
        chain_id = connect(rpc).eth.chain_id
        dep = Deployment.load(manifest_path(chain_id))
    explorer = args.explorer if args.explorer is not None else (existing or {}).get("explorer")
    if existing and existing.get("chainId") != dep.chain_id:
        explorer = args.explorer
    return serve.page_config(dep.chain_id, dep.address, dep.deploy_block, rpc, explorer, dep.abi)


def run(args: argparse.Namespace) -> int:
    root = serve.frontend_dir()
    try:
        config = chain_config(args, root)
    except MilktraceError as exc:
        if args.rpc or args.deployment:
            raise
        # nothing deployed yet: serve the page anyway, it says it cannot read the chain
        print(f"milktrace serve: warning: {exc}", file=sys.stderr)
        config = None
    site = serve.PageSite(root=root, chain_config=config, products=args.products)
    server = serve.make_server(site, args.host, args.port)

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    shown = json.loads(site.config_bytes() or b"null")
    print(server.url, flush=True)
    if shown:
        print(f"  chain {shown['chainId']}, registry {shown['address']}, RPC {shown['rpcUrl']}")
    else:
        print("  no chain config yet: run `milktrace deploy` (the page will say it cannot read)")
    print(f"  a batch: {server.url}01/{{GTIN-14}}/10/{{lot}}  (or {server.url}#/01/...)")
    print("  Ctrl-C stops the server.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
