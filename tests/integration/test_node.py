"""Local chains on both engines: start, serve JSON-RPC, deploy, stop without leftovers,
keep state across a restart, and never collide on ports."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from milktrace.chain import connect, deploy_registry
from milktrace.errors import NodeError
from milktrace.node import ENGINES, LocalNode, rpc_call


def _descendants_alive(pid: int) -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if p.is_running()
                and p.status() != psutil.STATUS_ZOMBIE]
    except psutil.NoSuchProcess:
        return []


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("engine", ENGINES)
def test_node_serves_json_rpc_deploys_and_stops_without_leftovers(engine):
    node = LocalNode(engine).start()
    pgid = node.process.pid
    try:
        assert int(rpc_call(node.url, "eth_chainId"), 16) == node.chain_id
        w3 = connect(node.url)
        dep = deploy_registry(w3, node.dev_accounts()[0])
        assert len(w3.eth.get_code(dep.address)) > 1000
    finally:
        node.stop()
    assert not _group_alive(pgid)
    with pytest.raises(NodeError):
        rpc_call(node.url, "eth_chainId", timeout=2)


@pytest.mark.parametrize("engine", ENGINES)
def test_state_survives_a_restart(engine, tmp_path: Path):
    state = tmp_path / ("anvil-state.json" if engine == "anvil" else "ganache-db")
    with LocalNode(engine, state=state) as node:
        w3 = connect(node.url)
        dep = deploy_registry(w3, node.dev_accounts()[0])
        block = w3.eth.block_number
        accounts = node.dev_accounts()
    with LocalNode(engine, state=state) as node:
        w3 = connect(node.url)
        assert w3.eth.block_number >= block
        assert len(w3.eth.get_code(dep.address)) > 1000
        assert node.dev_accounts() == accounts


def test_two_nodes_at_once_get_different_ports():
    with LocalNode("anvil") as a, LocalNode("ganache") as b, LocalNode("anvil") as c:
        assert len({a.port, b.port, c.port}) == 3
        for n in (a, b, c):
            assert rpc_call(n.url, "eth_blockNumber") is not None


@pytest.mark.parametrize("engine", ENGINES)
def test_block_time_mines_on_an_interval(engine):
    with LocalNode(engine, block_time=1) as node:
        first = int(rpc_call(node.url, "eth_blockNumber"), 16)
        time.sleep(2.5)
        assert int(rpc_call(node.url, "eth_blockNumber"), 16) >= first + 2


@pytest.mark.parametrize("engine", ENGINES)
def test_node_command_prints_rpc_and_leaves_nothing_after_sigterm(engine):
    proc = subprocess.Popen([sys.executable, "-m", "milktrace.cli", "node", "--engine", engine],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "Ctrl-C" in line or not line:
            break
    text = "".join(lines)
    url = re.search(r"rpc:\s+(http://127\.0\.0\.1:\d+)", text).group(1)
    assert re.search(r"chain id:\s+\d+", text)
    assert len(re.findall(r"^\s+0x[0-9a-fA-F]{40}$", text, re.M)) == 10
    assert "private" not in text.lower() and "mnemonic" not in text.lower()
    children = _descendants_alive(proc.pid)
    assert children, "the engine should run as a child of the command"
    rpc_call(url, "eth_chainId")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"left running: {alive}"
