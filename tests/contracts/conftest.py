"""Fixtures for the registry's brownie tests: actors, one deployment per module, helpers.

Actors are the node's unlocked dev accounts (no key is written anywhere):
`admin` deploys and admits; `producer`, `carrier`, `lab`, `retailer`, `regulator` are admitted
with the role of their name; `producer2` is a second producer; `stranger` is never admitted;
`multisig` stands for the address the admin role is handed to.

`registry` is deployed once per module with those organisations admitted and one batch
(`batch`, held by `producer`, Active) commissioned; `fn_isolation` reverts every test's
changes. Revert helpers check the exact custom error (selector and arguments) from the
node's revert data, and that the transaction itself fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import brownie
import pytest
from brownie import web3
from eth_abi import decode, encode
from eth_utils import keccak
from hexbytes import HexBytes
from web3.exceptions import Web3RPCError

EVENT_TIME = 1_762_000_000
GLN = 3761234500007  # 376123450000 + check digit 7
GTIN = 3761234500014  # 0376123450001 + check digit 4: a GTIN-14 with a leading zero
LOT = "L2611-A"

PRODUCER, CARRIER, LAB, RETAILER, REGULATOR = 1, 2, 4, 8, 16
ACTIVE, QUARANTINED, RELEASED, RECALLED = 1, 2, 3, 4


def h32(tag: str | int = "") -> bytes:
    """A fresh 32-byte hash (event ids, report hashes, roots)."""
    return keccak(text=f"{tag}-{os.urandom(8).hex()}")


def bid(lot: str, gtin: int = GTIN) -> bytes:
    """The batch id: keccak256 of the canonical Digital Link path."""
    return keccak(text=f"/01/{gtin:014d}/10/{lot}")


def fixed(text: str, size: int) -> bytes:
    return text.encode("ascii").ljust(size, b"\0")


def commission_args(lot: str = LOT, parents: tuple[bytes, ...] = (), gtin: int = GTIN,
                    event_id: bytes | None = None, **over: Any) -> tuple:
    fields = dict(batchId=bid(lot, gtin), eventId=event_id or h32("c"), gtin=gtin, lot=lot,
                  productionDate=20251101, expiryDate=20270501, quantity=12_000,
                  unit=fixed("LTR", 8), siteGln=GLN, parents=list(parents), eventTime=EVENT_TIME)
    fields.update(over)
    return tuple(fields.values())


def quality_args(batch: bytes, **over: Any) -> tuple:
    fields = dict(batchId=batch, eventId=h32("q"), testCode=fixed("MELAMINE", 16), passed=True,
                  value=50_000, unit=fixed("MGKG", 8), reportHash=h32("r"), eventTime=EVENT_TIME)
    fields.update(over)
    return tuple(fields.values())


def condition_args(batch: bytes, **over: Any) -> tuple:
    fields = dict(batchId=batch, eventId=h32("s"), readingsRoot=h32("root"), count=288,
                  minValue=210, maxValue=650, alarm=False, eventTime=EVENT_TIME)
    fields.update(over)
    return tuple(fields.values())


# ---------------------------------------------------------------- errors


@dataclass(frozen=True)
class ErrorAbi:
    name: str
    types: tuple[str, ...]

    @property
    def selector(self) -> bytes:
        return keccak(text=f"{self.name}({','.join(self.types)})")[:4]


def _error_abis(abi: list[dict]) -> dict[str, ErrorAbi]:
    return {e["name"]: ErrorAbi(e["name"], tuple(i["type"] for i in e["inputs"]))
            for e in abi if e["type"] == "error"}


def revert_data(fn: Any, args: tuple, sender: Any) -> HexBytes | None:
    """The revert data of `fn(*args)` sent by `sender` (a raw eth_call, which both Anvil and
    Ganache answer with `error.data` = the revert bytes); None when the call succeeds."""
    call = {"from": str(sender), "to": fn._address, "data": fn.encode_input(*args)}
    reply = web3.provider.make_request("eth_call", [call, "latest"])
    if "error" not in reply:
        return None
    data = reply["error"].get("data")
    assert isinstance(data, str | None), f"unexpected error payload {reply['error']}"
    return HexBytes(data or b"")


def describe(abis: dict[str, ErrorAbi], data: HexBytes | None) -> str:
    if data is None:
        return "no revert"
    for e in abis.values():
        if bytes(data[:4]) == e.selector:
            return f"{e.name}{decode(list(e.types), bytes(data[4:]))}"
    return f"revert data {data.hex() or '(empty)'}"


class Reverts:
    """`reverts(fn, args, sender, "TraceRegistryUnknownBatch", batch_id)`: asserts the call
    reverts with exactly that custom error and those arguments, then sends it as a
    transaction and asserts that fails too (so nothing is written)."""

    def __init__(self, abi: list[dict]):
        self.abis = _error_abis(abi)

    def expected(self, error: str, *args: Any) -> bytes:
        e = self.abis[error]
        return e.selector + encode(list(e.types), list(args))

    def __call__(self, fn: Any, args: tuple, sender: Any, error: str, *error_args: Any,
                 send: bool = True) -> None:
        data = revert_data(fn, args, sender)
        want = self.expected(error, *error_args)
        assert data == HexBytes(want), (
            f"expected {error}{error_args}, got {describe(self.abis, data)}")
        if send:
            with brownie.reverts():
                fn(*args, {"from": sender})

    def plain(self, fn: Any, args: tuple, sender: Any) -> None:
        """Reverts with empty data (an ABI-decoding failure in Solidity's own code)."""
        data = revert_data(fn, args, sender)
        assert data == HexBytes(b""), f"expected an empty revert, got {describe(self.abis, data)}"


# ---------------------------------------------------------------- actors


@pytest.fixture(scope="session")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def producer(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def carrier(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def lab(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def retailer(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def regulator(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def producer2(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def multisig(accounts):
    return accounts[8]


@pytest.fixture(scope="session")
def roles_of(producer, carrier, lab, retailer, regulator, producer2):
    return {producer: PRODUCER, carrier: CARRIER, lab: LAB, retailer: RETAILER,
            regulator: REGULATOR, producer2: PRODUCER}


# ---------------------------------------------------------------- deployment


@pytest.fixture(scope="module")
def registry(TraceRegistry, admin, producer, carrier, lab, retailer, regulator, producer2,
             module_isolation):
    reg = TraceRegistry.deploy(admin, {"from": admin})
    for account, roles, name in [
        (producer, PRODUCER, "Laiterie du Val"),
        (carrier, CARRIER, "FroidTrans"),
        (lab, LAB, "Labo Analyses"),
        (retailer, RETAILER, "BabyMart Shanghai"),
        (regulator, REGULATOR, "SAMR"),
        (producer2, PRODUCER, "Second Dairy"),
    ]:
        reg.admitOrganisation(account, name, GLN, b"FR", roles, {"from": admin})
    reg.commission(commission_args(), {"from": producer})
    return reg


@pytest.fixture(scope="module")
def batch(registry):
    return bid(LOT)


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture(scope="module")
def reverts(registry):
    return Reverts(registry.abi)


# ---------------------------------------------------------------- events


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    return value


def events(tx: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every event of a transaction, in log order, as (name, {arg: plain value})."""
    return [(ev.name, {k: _norm(v) for k, v in dict(ev).items()}) for ev in tx.events]


def only_event(tx: Any) -> tuple[str, dict[str, Any]]:
    got = events(tx)
    assert len(got) == 1, f"expected one event, got {[n for n, _ in got]}"
    return got[0]


# ---------------------------------------------------------------- raw calldata


def raw_revert(registry: Any, data: bytes, sender: Any) -> HexBytes | None:
    """The revert data of calldata `data` sent to the registry by `sender` (eth_call)."""
    call = {"from": str(sender), "to": registry.address, "data": "0x" + data.hex()}
    reply = web3.provider.make_request("eth_call", [call, "latest"])
    if "error" not in reply:
        return None
    return HexBytes(reply["error"].get("data") or b"")


def raw_send_fails(registry: Any, data: bytes, sender: Any) -> None:
    """Sends calldata `data` as a transaction and asserts it does not succeed."""
    tx = {"from": str(sender), "to": registry.address, "data": "0x" + data.hex(),
          "gas": 1_000_000, "gasPrice": web3.to_wei(2, "gwei")}
    try:
        tx_hash = web3.eth.send_transaction(tx)
    except (ValueError, Web3RPCError) as exc:  # Ganache reports the revert on send
        assert "revert" in str(exc), exc
        return
    assert web3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0
