"""`brownie run scripts/deploy.py`: deploy the registry on brownie's network — thin over
`milktrace.chain.deploy`, the same code as `milktrace deploy`.

It writes `deployments/<chainId>.json` and the scan page's chain config, and refuses to
replace an existing manifest. Brownie passes no options to a script, so they come from the
environment:

    MILKTRACE_KEY            keystore to sign with (default on a local chain: brownie's
                             first unlocked dev account); password from
                             MILKTRACE_KEY_PASSWORD or MILKTRACE_KEY_PASSWORD_FILE
    MILKTRACE_FORCE=1        replace an existing manifest
    MILKTRACE_CONFIRMATIONS  blocks to wait (default: 0 local, 2 elsewhere)
    MILKTRACE_DEPLOYMENT     manifest path (default deployments/<chainId>.json)
    MILKTRACE_PAGE_CONFIG    page config folder (default frontend/config)
    MILKTRACE_EXPLORER       block explorer base URL for the page

    python -m milktrace.brownie_env run scripts/deploy.py --engine anvil
    brownie run scripts/deploy.py --network sepolia   # with MILKTRACE_KEY set
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from brownie import network, web3

from milktrace import chain, keys
from milktrace.errors import MilktraceError


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def main() -> chain.Deployment:
    try:
        return _deploy()
    except MilktraceError as exc:  # a clean message and a failing exit, not a traceback
        print(f"deploy: error: {exc}", file=sys.stderr)
        sys.exit(1)


def _deploy() -> chain.Deployment:
    key_ref = os.environ.get("MILKTRACE_KEY")
    signer = None
    if key_ref:
        signer = keys.unlock(keys.resolve(key_ref), keys.read_password(
            file=_env_path("MILKTRACE_KEY_PASSWORD_FILE")))
    sender = chain.default_sender(web3, signer)
    confirmations = os.environ.get("MILKTRACE_CONFIRMATIONS")
    result = chain.deploy(
        web3, sender, rpc_url=web3.provider.endpoint_uri,
        manifest=_env_path("MILKTRACE_DEPLOYMENT"),
        force=os.environ.get("MILKTRACE_FORCE") == "1",
        confirmations=int(confirmations) if confirmations else None,
        explorer=os.environ.get("MILKTRACE_EXPLORER"),
        page_dir=_env_path("MILKTRACE_PAGE_CONFIG"))
    dep = result.deployment
    print(f"TraceRegistry {dep.address} on {network.show_active()} (chain {dep.chain_id}), "
          f"block {dep.deploy_block}")
    print(f"manifest {result.manifest}")
    print(f"page config {result.page_config}")
    return dep
