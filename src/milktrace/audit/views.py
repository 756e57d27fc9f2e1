"""The contract's views, read in JSON-RPC batches of `eth_call` at the audited block."""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils import keccak, to_checksum_address

from milktrace.audit.checks import BatchView, OrgView
from milktrace.errors import AuditError
from milktrace.logs import RpcClient

BATCH_STATE = keccak(text="batchState(bytes32)")[:4].hex()
ORGANISATION = keccak(text="organisation(address)")[:4].hex()
_ZERO_ADDR = "0" * 40


def _word(data: bytes, i: int) -> bytes:
    return data[32 * i : 32 * i + 32]


def _addr(word: bytes) -> str | None:
    h = word[12:].hex()
    return None if h == _ZERO_ADDR else to_checksum_address("0x" + h)


def _result(raw: object, what: str, words: int) -> bytes:
    if not isinstance(raw, str) or not raw.startswith("0x"):
        raise AuditError(f"{what}: expected hex data, got {str(raw)[:80]}")
    data = bytes.fromhex(raw[2:])
    if len(data) != 32 * words:
        raise AuditError(
            f"{what}: expected {32 * words} bytes, got {len(data)} "
            "(is the deployment manifest's address a TraceRegistry?)"
        )
    return data


def batch_states(
    client: RpcClient, registry: str, batch_ids: Sequence[bytes], block: int
) -> dict[bytes, BatchView]:
    calls = [
        ("eth_call", [{"to": registry, "data": "0x" + BATCH_STATE + bid.hex()}, hex(block)])
        for bid in batch_ids
    ]
    out: dict[bytes, BatchView] = {}
    for bid, raw in zip(batch_ids, client.batch(calls), strict=True):
        d = _result(raw, f"batchState(0x{bid.hex()})", 4)
        out[bid] = (
            _addr(_word(d, 0)),
            _addr(_word(d, 1)),
            _addr(_word(d, 2)),
            int.from_bytes(_word(d, 3), "big"),
        )
    return out


def organisations(
    client: RpcClient, registry: str, accounts: Sequence[str], block: int
) -> dict[str, OrgView]:
    calls = [
        (
            "eth_call",
            [{"to": registry, "data": "0x" + ORGANISATION + "0" * 24 + a[2:].lower()}, hex(block)],
        )
        for a in accounts
    ]
    out: dict[str, OrgView] = {}
    for account, raw in zip(accounts, client.batch(calls), strict=True):
        d = _result(raw, f"organisation({account})", 4)
        country = _word(d, 3)[:2].rstrip(b"\0").decode("ascii", errors="backslashreplace")
        out[account] = (
            int.from_bytes(_word(d, 0), "big"),
            int.from_bytes(_word(d, 1), "big"),
            f"{int.from_bytes(_word(d, 2), 'big'):013d}",
            country,
        )
    return out
