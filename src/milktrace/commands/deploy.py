"""`milktrace deploy`: deploy the registry, write deployments/<chainId>.json and the page's
chain config. Also home of the `--rpc` / `--deployment` options every chain command shares."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from web3 import Web3

from milktrace import chain
from milktrace.commands.keys import add_key_options, signer_from_args


def add_chain_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rpc", metavar="URL",
                   help=f"JSON-RPC endpoint (default: ${chain.RPC_ENV} or {chain.DEFAULT_RPC})")
    p.add_argument("--deployment", type=Path, metavar="FILE",
                   help="deployment manifest (default: deployments/<chainId>.json)")


def connect_from_args(args: argparse.Namespace) -> tuple[Web3, str]:
    url = chain.default_rpc(args.rpc)
    return chain.connect(url), url


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deploy", help="deploy the registry; write deployments/<chainId>.json")
    add_chain_options(p)
    add_key_options(p)
    p.add_argument("--confirmations", type=int, metavar="N",
                   help=f"blocks to wait after the deployment (default: 0 on a local chain, "
                        f"{chain.DEFAULT_CONFIRMATIONS} elsewhere)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing manifest for this chain")
    p.add_argument("--explorer", metavar="URL",
                   help="block explorer base URL for the page (e.g. https://sepolia.etherscan.io)")
    p.add_argument("--page-config", type=Path, metavar="DIR",
                   help="where the page's chain config goes (default: frontend/config/)")
    p.add_argument("--public-rpc", metavar="URL",
                   help="RPC URL the scan page should use (default: --rpc)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    w3, url = connect_from_args(args)
    chain_id = w3.eth.chain_id
    manifest = args.deployment or chain.manifest_path(chain_id)
    force = args.force or os.environ.get("MILKTRACE_FORCE") == "1"
    chain.check_overwrite(manifest, chain_id, force, w3)  # before asking for a password
    sender = chain.default_sender(w3, signer_from_args(args))
    result = chain.deploy(w3, sender, rpc_url=args.public_rpc or url, manifest=manifest,
                          force=force, confirmations=args.confirmations,
                          explorer=args.explorer, page_dir=args.page_config)
    dep = result.deployment
    if args.json:
        print(json.dumps({"chainId": dep.chain_id, "address": dep.address,
                          "deployBlock": dep.deploy_block, "deployTx": dep.deploy_tx,
                          "manifest": str(result.manifest), "pageConfig": str(result.page_config),
                          "admin": result.sender, "confirmations": result.confirmations}))
    else:
        print(f"TraceRegistry {dep.address} on chain {dep.chain_id}, block {dep.deploy_block}")
        print(f"  tx        {dep.deploy_tx}")
        print(f"  admin     {result.sender}")
        if result.confirmations:
            print(f"  waited for {result.confirmations} confirmations")
        print(f"  manifest  {result.manifest}")
        print(f"  page      {result.page_config}")
    return 0
