"""Shared fixtures for integration tests: real local nodes over JSON-RPC.

Fixtures (reuse them in any tests/integration/test_*.py):

- `node`: a module-scoped LocalNode, Anvil by default. Run a test on both engines with
  `@pytest.mark.parametrize("node", ENGINES, indirect=True)`.
- `node_factory(engine="anvil", **kw)`: more nodes (with `state=`, `block_time=`, a fixed
  `port=`), stopped at the end of the test. `kill()` one to simulate a crash.
- `chain`: a `Chain` on `node`: a fresh registry deployed by the node's first dev account
  (`chain.admin`), its manifest in a temp folder (never deployments/), and funded actors with
  encrypted keystores, admitted with their roles: `producer`, `carrier`, `lab`, `retailer`,
  `regulator`, and `stranger` (funded, never admitted). Also as fixtures of those names.
- `chain_factory(node, tmp_path)`: the same on a node of your own (fault tests).
- `cli`: runs `milktrace ...` in a subprocess against a chain (`cli(chain, "org", "list")`),
  with the keystore password in the environment, never on the command line.
- `write_producer_csv(path, site_gln, batches)`: a producer's CSV export of 4 records per
  batch (commission, condition, anchor, release); returns the record count.

Keystores here use a light scrypt cost (N = 2^12) so that tests stay fast; the command
default is the standard 2^18.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from integration_support import PASSWORD
from web3 import Web3

from milktrace import keys
from milktrace.chain import Deployment, deploy_registry, fee_fields, registry
from milktrace.identifiers import gs1_check_digit
from milktrace.node import ENGINES, LocalNode
from milktrace.paths import project_root
from milktrace.types import Role

__all__ = ["ENGINES", "Actor", "Chain", "PASSWORD", "make_chain", "run_cli"]

LIGHT_SCRYPT_N = 2**12
ROOT = project_root()


def gln(body12: str) -> str:
    return body12 + str(gs1_check_digit(body12))


@dataclass(frozen=True)
class Actor:
    """An organisation's signing identity: keystore on disk, unlocked account, org data."""

    name: str
    account: LocalAccount
    keystore: Path
    org_name: str
    gln: str
    country: str
    roles: int

    @property
    def address(self) -> str:
        return self.account.address


# name -> (display name, GLN body, country, roles); stranger is funded but never admitted
ACTORS: dict[str, tuple[str, str, str, int]] = {
    "producer": ("Laiterie Coopérative d'Isigny", "376012345000", "FR", Role.PRODUCER),
    "carrier": ("Trans-Eurasia Cold Chain 冷链", "376012345001", "FR", Role.CARRIER),
    "lab": ("Laboratoire Qualité Lait", "376012345002", "FR", Role.LAB),
    "retailer": ("上海母婴连锁 Mother&Baby", "690123456000", "CN", Role.RETAILER),
    "regulator": ("SAMR Shanghai", "690123456001", "CN", Role.REGULATOR),
    "stranger": ("Unknown Trading Ltd", "690123456002", "CN", 0),
}


@dataclass
class Chain:
    """A deployed registry on a node, with actors and the files commands need."""

    node: LocalNode
    w3: Web3
    dep: Deployment
    manifest: Path
    admin: str
    keys_dir: Path
    journal_dir: Path
    page_dir: Path
    actors: dict[str, Actor] = field(default_factory=dict)

    @property
    def rpc(self) -> str:
        return self.node.url

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a `milktrace` subprocess on this chain."""
        env = dict(os.environ)
        env.update({"MILKTRACE_RPC": self.node.url, "MILKTRACE_KEY_PASSWORD": PASSWORD,
                    "MILKTRACE_KEYSTORES": str(self.keys_dir),
                    "MILKTRACE_JOURNAL_DIR": str(self.journal_dir), "PYTHONUNBUFFERED": "1"})
        env.pop("MILKTRACE_KEY_PASSWORD_FILE", None)
        env.update(extra)
        return env


def make_chain(node: LocalNode, tmp: Path, actors: bool = True) -> Chain:
    """Deploy a registry on `node`; create, fund and admit the actors (unless actors=False).
    The funding and admission transactions go out together (a few blocks on a chain with a
    block time), then every receipt is checked."""
    tmp.mkdir(parents=True, exist_ok=True)
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
    admin = w3.eth.accounts[0]
    dep = deploy_registry(w3, admin)
    manifest = dep.save(tmp / "deployment.json")
    chain = Chain(node, w3, dep, manifest, admin, tmp / "keystores", tmp / "journal",
                  tmp / "page")
    if not actors:
        return chain
    contract = registry(w3, dep)
    fees = fee_fields(w3)
    sent = []
    for name, (org_name, glnbody, country, roles) in ACTORS.items():
        info = keys.new_key(name, PASSWORD, chain.keys_dir, scrypt_n=LIGHT_SCRYPT_N)
        account = keys.unlock(info.path, PASSWORD)
        actor = Actor(name, account, info.path, org_name, gln(glnbody), country, roles)
        chain.actors[name] = actor
        sent.append(w3.eth.send_transaction({"from": admin, "to": actor.address,
                                             "value": Web3.to_wei(1000, "ether"), **fees}))
        if roles:
            sent.append(contract.functions.admitOrganisation(
                actor.address, org_name, int(actor.gln), country.encode(), int(roles)
            ).transact({"from": admin, "gas": 500_000, **fees}))
    for tx in sent:
        assert w3.eth.wait_for_transaction_receipt(tx, timeout=120)["status"] == 1
    return chain


CSV_HEADER = ("kind,event_time,gtin,lot,production_date,expiry_date,quantity,uom,site_gln,"
              "readings_root,count,min_c,max_c,alarm,status,reason,anchor_kind,note")


def producer_csv(path: Path, site_gln: str, batches: int, gtin: str = "03760123456784",
                 prefix: str = "L", per_batch: int = 4) -> int:
    """A producer's milktrace CSV export: per batch a commissioning, then (per_batch - 1)
    of: a cold-chain summary, an anchored inventory event, a release. Returns the number of
    records. Lots are `{prefix}{i:05d}`; event ids differ by row."""
    lines = [CSV_HEADER]
    n = 0
    for i in range(batches):
        lot = f"{prefix}{i:05d}"
        t = f"2025-03-{1 + i % 27:02d}T{8 + i % 10:02d}:{i % 60:02d}:00+01:00"
        rows = [
            f"commission,{t},{gtin},{lot},2025-03-01,2026-09-01,{1000 + i},KGM,{site_gln},"
            f",,,,,,,,lot {i} 原奶",
            f"condition,{t},{gtin},{lot},,,,,,{(i + 1):064x},96,3.5,6.25,false,,,,cold room",
            f"anchor,{t},{gtin},{lot},,,,,,,,,,,,,object,inventory {i}",
            f"status,{t},{gtin},{lot},,,,,,,,,,,released,QA_RELEASE,,",
        ][:per_batch]
        lines.extend(rows)
        n += len(rows)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return n


def run_cli(chain: Chain | None, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120, check: bool = False,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    """`milktrace ARGS` in a subprocess (cwd: the checkout); output captured as text."""
    base = chain.env() if chain is not None else dict(os.environ)
    if env:
        base.update(env)
    proc = subprocess.run([sys.executable, "-m", "milktrace.cli", *args], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"milktrace {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def node_factory() -> Iterator[Callable[..., LocalNode]]:
    """Start nodes for one test; every one is stopped (or was killed) at its end."""
    started: list[LocalNode] = []

    def start(engine: str = "anvil", **kw) -> LocalNode:
        node = LocalNode(engine=engine, **kw)  # type: ignore[arg-type]
        node.start()
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture(scope="module")
def node(request: pytest.FixtureRequest) -> Iterator[LocalNode]:
    engine = getattr(request, "param", "anvil")
    with LocalNode(engine=engine) as n:
        yield n


@pytest.fixture(scope="module")
def chain(node: LocalNode, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return make_chain(node, tmp_path_factory.mktemp(f"chain-{node.engine}"))


@pytest.fixture
def chain_factory() -> Callable[..., Chain]:
    return make_chain


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


@pytest.fixture
def write_producer_csv() -> Callable[..., int]:
    return producer_csv


def _actor(name: str) -> Callable[[Chain], Actor]:
    def fixture(chain: Chain) -> Actor:
        return chain.actors[name]

    fixture.__name__ = name
    return pytest.fixture(fixture)


producer = _actor("producer")
carrier = _actor("carrier")
lab = _actor("lab")
retailer = _actor("retailer")
regulator = _actor("regulator")
stranger = _actor("stranger")
