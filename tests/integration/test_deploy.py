"""`milktrace deploy` and `brownie run scripts/deploy.py`: manifest, page config, refusal to
overwrite, confirmations on a non-local chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from integration_support import PASSWORD
from web3 import Web3

from milktrace.chain import Deployment
from milktrace.paths import project_root

MANIFEST_FIELDS = {"chainId", "address", "deployBlock", "deployTx", "abi"}


def _deploy(chain, cli, tmp_path, *extra, manifest=None):
    manifest = manifest or tmp_path / "deployments" / "31337.json"
    proc = cli(chain, "deploy", "--deployment", str(manifest), "--page-config",
               str(tmp_path / "page"), "--json", *extra)
    return proc, manifest


def test_deploy_writes_the_manifest_and_the_page_config(chain, cli, tmp_path):
    proc, manifest = _deploy(chain, cli, tmp_path, "--explorer", "https://explorer.example")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    data = json.loads(manifest.read_text())
    assert MANIFEST_FIELDS <= set(data)
    w3 = chain.w3
    receipt = w3.eth.get_transaction_receipt(data["deployTx"])
    assert data["chainId"] == w3.eth.chain_id == out["chainId"]
    assert data["address"] == receipt["contractAddress"] == out["address"]
    assert data["deployBlock"] == receipt["blockNumber"]
    assert len(w3.eth.get_code(data["address"])) > 0
    assert any(e.get("name") == "submit" for e in data["abi"])
    page = json.loads((tmp_path / "page" / "chain.json").read_text())
    assert page["address"] == data["address"] and page["chainId"] == data["chainId"]
    assert page["rpcUrl"] == chain.node.url
    assert page["explorer"] == "https://explorer.example"
    assert (tmp_path / "page" / f"{data['chainId']}.json").exists()


def test_deploy_without_key_on_a_local_node_uses_its_first_dev_account(chain, cli, tmp_path):
    proc, manifest = _deploy(chain, cli, tmp_path)
    assert proc.returncode == 0, proc.stderr
    dep = Deployment.load(manifest)
    tx = chain.w3.eth.get_transaction(dep.deploy_tx)
    assert tx["from"] == chain.w3.eth.accounts[0] == json.loads(proc.stdout)["admin"]
    registry = chain.w3.eth.contract(address=dep.address, abi=dep.abi)
    assert registry.functions.hasRole(bytes(32), tx["from"]).call()


def test_deploy_refuses_to_overwrite_a_manifest_for_the_same_chain(chain, cli, tmp_path):
    first, manifest = _deploy(chain, cli, tmp_path)
    assert first.returncode == 0, first.stderr
    before = manifest.read_text()
    nonce = chain.w3.eth.get_transaction_count(chain.admin)
    again, _ = _deploy(chain, cli, tmp_path)
    assert again.returncode == 1
    assert str(manifest) in again.stderr
    assert "--force" in again.stderr and "not overwriting" in again.stderr
    assert manifest.read_text() == before
    assert chain.w3.eth.get_transaction_count(chain.admin) == nonce  # nothing was sent


def test_deploy_with_force_replaces_the_manifest(chain, cli, tmp_path):
    first, manifest = _deploy(chain, cli, tmp_path)
    old = Deployment.load(manifest)
    forced, _ = _deploy(chain, cli, tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr
    new = Deployment.load(manifest)
    assert new.address != old.address
    assert len(chain.w3.eth.get_code(new.address)) > 0


def test_deploy_with_a_keystore_signs_with_that_key(chain, cli, tmp_path):
    producer = chain.actors["producer"]  # any funded key will do
    proc, manifest = _deploy(chain, cli, tmp_path, "--key", str(producer.keystore))
    assert proc.returncode == 0, proc.stderr
    dep = Deployment.load(manifest)
    assert chain.w3.eth.get_transaction(dep.deploy_tx)["from"] == producer.address


@pytest.fixture(scope="module")
def testnet(request, tmp_path_factory):
    """An Anvil that looks like a testnet: chain id 11155111, a block every second."""
    from milktrace.node import LocalNode

    with LocalNode("anvil", chain_id=11155111, block_time=1) as node:
        yield node


def test_deploy_on_a_non_local_chain_needs_a_key(testnet, cli, tmp_path):
    proc = cli(None, "deploy", "--rpc", testnet.url, "--deployment", str(tmp_path / "d.json"),
               "--page-config", str(tmp_path / "page"))
    assert proc.returncode == 1
    assert "not a local dev chain" in proc.stderr and "--key" in proc.stderr
    assert not (tmp_path / "d.json").exists()


def test_deploy_on_a_non_local_chain_waits_for_confirmations(testnet, cli, tmp_path):
    from milktrace import keys

    info = keys.new_key("admin", PASSWORD, tmp_path / "ks", scrypt_n=4096)
    w3 = Web3(Web3.HTTPProvider(testnet.url))
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": info.address, "value": 10**20,
         "gasPrice": 3 * 10**9}))
    manifest = tmp_path / "d.json"
    proc = cli(None, "deploy", "--rpc", testnet.url, "--key", str(info.path), "--deployment",
               str(manifest), "--page-config", str(tmp_path / "page"), "--json",
               env={"MILKTRACE_KEY_PASSWORD": PASSWORD})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["confirmations"] == 2 and out["chainId"] == 11155111
    # it returned only once the deployment block had 2 blocks on top of it
    assert w3.eth.block_number >= out["deployBlock"] + 2


def test_brownie_run_scripts_deploy_writes_the_same_manifest(tmp_path):
    manifest = tmp_path / "brownie.json"
    env = dict(os.environ, MILKTRACE_DEPLOYMENT=str(manifest),
               MILKTRACE_PAGE_CONFIG=str(tmp_path / "page"))
    env.pop("MILKTRACE_KEY", None)
    cmd = [sys.executable, "-m", "milktrace.brownie_env", "--engine", "anvil", "run",
           "scripts/deploy.py"]
    proc = subprocess.run(cmd, cwd=project_root(), env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(manifest.read_text())
    assert MANIFEST_FIELDS <= set(data) and data["chainId"] == 31337
    assert json.loads((tmp_path / "page" / "chain.json").read_text())["address"] == \
        data["address"]
    again = subprocess.run(cmd, cwd=project_root(), env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 1
    assert "not overwriting" in again.stdout + again.stderr
