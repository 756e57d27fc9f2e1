"""Local chains: Anvil (default) or Ganache on a free port, stopped without leftovers.

`LocalNode` is a context manager. It starts the engine in its own process group, waits for
JSON-RPC, and on stop terminates the whole group (ganache is a node.js process tree).
With `state` the chain survives a restart: anvil `--state FILE`, ganache `--database.dbPath`.
Dev accounts come from a fresh random mnemonic each time a chain is created; only their
addresses are ever printed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from milktrace.errors import NodeError
from milktrace.paths import evm_version, node_bin

log = logging.getLogger(__name__)

Engine = Literal["anvil", "ganache"]
ENGINES: tuple[Engine, ...] = ("anvil", "ganache")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rpc_call(url: str, method: str, params: list | None = None, timeout: float = 10.0):
    """One plain JSON-RPC call; raises NodeError on transport or RPC errors."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    req = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            reply = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise NodeError(f"{url}: {method} failed: {exc}") from exc
    if "error" in reply:
        raise NodeError(f"{url}: {method}: {reply['error']}")
    return reply["result"]


@dataclass
class LocalNode:
    """A local development chain."""

    engine: Engine = "anvil"
    port: int | None = None
    block_time: float | None = None
    state: Path | None = None
    accounts: int = 10
    chain_id: int | None = None
    log_file: Path | None = None
    process: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.engine == "anvil":
            cmd = [str(node_bin("anvil")), "--host", "127.0.0.1", "--port", str(self.port),
                   "--accounts", str(self.accounts), "--balance", "100000"]
            if self.block_time:
                cmd += ["--block-time", str(self.block_time)]
            if self.chain_id:
                cmd += ["--chain-id", str(self.chain_id)]
            if self.state:
                cmd += ["--state", str(self.state), "--state-interval", "1",
                        "--mnemonic", self._state_mnemonic(Path(f"{self.state}.mnemonic"))]
            else:
                cmd += ["--mnemonic-random"]
            return cmd
        if self.engine == "ganache":
            cmd = [str(node_bin("ganache")), "--server.host", "127.0.0.1",
                   "--server.port", str(self.port), "--chain.hardfork", evm_version(),
                   "--wallet.totalAccounts", str(self.accounts),
                   "--wallet.defaultBalance", "100000", "--logging.quiet",
                   "--miner.blockGasLimit", "30000000"]
            if self.block_time:
                cmd += ["--miner.blockTime", str(self.block_time)]
            if self.chain_id:
                cmd += ["--chain.chainId", str(self.chain_id)]
            if self.state:
                Path(self.state).mkdir(parents=True, exist_ok=True)
                words = self._state_mnemonic(Path(self.state) / "dev.mnemonic")
                cmd += ["--database.dbPath", str(self.state), "--wallet.mnemonic", words]
            return cmd
        raise NodeError(f"unknown engine {self.engine!r}: expected one of {', '.join(ENGINES)}")

    @staticmethod
    def _state_mnemonic(path: Path) -> str:
        """The dev-account mnemonic kept beside a chain's state, so a restarted chain has the
        same unlocked accounts. Generated once, mode 600, never printed."""
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        from eth_account.hdaccount.mnemonic import Mnemonic

        words = Mnemonic("english").generate(12)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            fp.write(words + "\n")
        return words

    def start(self, timeout: float = 60.0) -> LocalNode:
        if self.process is not None:
            raise NodeError("node already started")
        fixed_port = self.port is not None
        for _attempt in range(3):
            if not fixed_port:
                self.port = free_port()
            out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
            self.process = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            if self._wait_ready(timeout):
                self.chain_id = int(rpc_call(self.url, "eth_chainId"), 16)
                log.info("%s listening at %s (chain %s)", self.engine, self.url, self.chain_id)
                return self
            self.stop()
            if fixed_port:
                break
        raise NodeError(f"{self.engine} did not answer JSON-RPC on port {self.port}"
                        + (f"; see {self.log_file}" if self.log_file else ""))

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                rpc_call(self.url, "eth_chainId", timeout=2)
                return True
            except NodeError:
                time.sleep(0.1)
        return False

    def dev_accounts(self) -> list[str]:
        """The node's funded, unlocked accounts (checksummed)."""
        from eth_utils import to_checksum_address

        return [to_checksum_address(a) for a in rpc_call(self.url, "eth_accounts")]

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the node's process group (anvil writes its state), then SIGKILL if needed."""
        proc, self.process = self.process, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s ignored SIGTERM; killing it", self.engine)
        try:  # whatever is left in the group (ganache's children)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def kill(self) -> None:
        """SIGKILL the node at once, as a crash would (fault tests)."""
        proc, self.process = self.process, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def __enter__(self) -> LocalNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
