"""The packed encoding of `TraceRegistry.submit(bytes)`: many records in one transaction.

Layout (big-endian, no padding), mirrored in ITraceRegistry's NatSpec:

    batchCount:uint16 | batchIds:bytes32[batchCount] | record...
    record = kind:uint8 | batchIndex:uint16 | eventId:bytes32 | eventTime:uint40 | body

Batch ids are given once per call and referenced by index, so a record for a batch already
named costs 2 bytes instead of 32. Bodies by kind are in `_body`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from milktrace.types import (
    Accept,
    Anchor,
    CancelHandOver,
    Commission,
    ConditionSummary,
    HandOver,
    QualityResult,
    Record,
    StatusChange,
)

MAX_BATCHES_PER_CALL = 0xFFFF


def ascii_fixed(text: str, size: int, what: str) -> bytes:
    """Left-aligned, zero-padded ASCII of at most `size` bytes (bytes8, bytes16 fields)."""
    raw = text.encode("ascii", errors="strict") if text.isascii() else None
    if raw is None or len(raw) > size:
        raise ValueError(f"{what} {text!r}: expected at most {size} ASCII characters")
    return raw.ljust(size, b"\0")


def from_ascii_fixed(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii", errors="replace")


def _u(value: int, size: int) -> bytes:
    return int(value).to_bytes(size, "big", signed=False)


def _i(value: int, size: int) -> bytes:
    return int(value).to_bytes(size, "big", signed=True)


def _address(value: str) -> bytes:
    raw = bytes.fromhex(value[2:] if value.startswith("0x") else value)
    if len(raw) != 20:
        raise ValueError(f"address {value!r}: expected 20 bytes")
    return raw


def _body(rec: Record) -> bytes:
    if isinstance(rec, QualityResult):
        return (ascii_fixed(rec.test_code, 16, "test code") + _u(1 if rec.passed else 0, 1)
                + _i(rec.value_micro, 8) + ascii_fixed(rec.unit, 8, "unit") + rec.report_hash)
    if isinstance(rec, ConditionSummary):
        return (rec.readings_root + _u(rec.count, 4) + _i(rec.min_centi, 4)
                + _i(rec.max_centi, 4) + _u(1 if rec.alarm else 0, 1))
    if isinstance(rec, HandOver):
        return _address(rec.to)
    if isinstance(rec, (Accept, CancelHandOver)):
        return b""
    if isinstance(rec, StatusChange):
        return (_u(rec.status, 1) + ascii_fixed(rec.reason, 16, "reason")
                + (rec.notice_hash or bytes(32)))
    if isinstance(rec, Anchor):
        return _u(rec.anchor_kind, 1)
    if isinstance(rec, Commission):
        lot = rec.lot.encode("ascii")
        return (_u(int(rec.gtin), 8) + _u(rec.production_date, 4) + _u(rec.expiry_date, 4)
                + _u(rec.quantity, 8) + ascii_fixed(rec.unit, 8, "unit") + _u(int(rec.site_gln), 8)
                + _u(len(lot), 1) + lot + _u(len(rec.parents), 1) + b"".join(rec.parents))
    raise TypeError(f"not a record: {rec!r}")


def pack(records: Sequence[Record]) -> bytes:
    """Encode records for one `submit` call, in order."""
    index: dict[bytes, int] = {}
    for rec in records:
        index.setdefault(rec.batch_id, len(index))
    if len(index) > MAX_BATCHES_PER_CALL:
        raise ValueError(f"{len(index)} batches in one call: at most {MAX_BATCHES_PER_CALL}")
    out = [_u(len(index), 2), *index.keys()]
    for rec in records:
        out.append(_u(rec.kind, 1) + _u(index[rec.batch_id], 2) + rec.event_id
                   + _u(rec.event_time, 5) + _body(rec))
    return b"".join(out)


def chunks(records: Sequence[Record], size: int) -> Iterable[Sequence[Record]]:
    """Split records into calls of at most `size` records, keeping order."""
    for start in range(0, len(records), size):
        yield records[start:start + size]
