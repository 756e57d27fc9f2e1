"""Domain records: what goes on chain, one frozen dataclass per record kind.

Every record names its batch (`batch_id`, keccak256 of the Digital Link path) and its source
event (`event_id`: the EPCIS event hash or a CSV row hash), and carries the source event time
in unix seconds. Text fields that the contract stores as fixed bytes (test codes, units,
reasons) are plain ASCII strings here; `records.py` packs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Role(IntEnum):
    """Registry role bits (TraceRegistry `*_ROLE`)."""

    PRODUCER = 1
    CARRIER = 2
    LAB = 4
    RETAILER = 8
    REGULATOR = 16

    @property
    def role_name(self) -> str:
        return f"{self.name}_ROLE"

    @classmethod
    def parse(cls, text: str) -> Role:
        key = text.strip().upper().removesuffix("_ROLE")
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown role {text!r}: expected one of "
                             f"{', '.join(r.name.lower() for r in cls)}") from None


class Status(IntEnum):
    """ITraceRegistry.Status."""

    UNKNOWN = 0
    ACTIVE = 1
    QUARANTINED = 2
    RELEASED = 3
    RECALLED = 4


class AnchorKind(IntEnum):
    """ITraceRegistry.AnchorKind: the EPCIS event type of an anchored event."""

    OBJECT = 0
    AGGREGATION = 1
    TRANSFORMATION = 2
    TRANSACTION = 3
    ASSOCIATION = 4


class RecordKind(IntEnum):
    """ITraceRegistry.RecordKind: the kind byte of a packed record."""

    COMMISSION = 0
    HAND_OVER = 1
    ACCEPT = 2
    CANCEL_HAND_OVER = 3
    QUALITY = 4
    CONDITION = 5
    STATUS = 6
    ANCHOR = 7


@dataclass(frozen=True)
class Organisation:
    """An admitted organisation."""

    account: str
    name: str
    gln: str
    country: str
    roles: int = 0
    org_id: int = 0


@dataclass(frozen=True)
class Commission:
    """A batch commissioned, or made from `parents` (a transformation)."""

    batch_id: bytes
    event_id: bytes
    gtin: str  # 14 digits
    lot: str
    production_date: int  # YYYYMMDD
    expiry_date: int  # YYYYMMDD
    quantity: int
    unit: str  # UN/ECE Rec 20, e.g. "LTR"
    site_gln: str  # 13 digits
    event_time: int
    parents: tuple[bytes, ...] = ()
    kind: RecordKind = field(default=RecordKind.COMMISSION, init=False)


@dataclass(frozen=True)
class HandOver:
    """The holder offers the batch to `to` (CBV shipping)."""

    batch_id: bytes
    event_id: bytes
    to: str
    event_time: int
    kind: RecordKind = field(default=RecordKind.HAND_OVER, init=False)


@dataclass(frozen=True)
class Accept:
    """The addressee accepts the batch (CBV receiving)."""

    batch_id: bytes
    event_id: bytes
    event_time: int
    kind: RecordKind = field(default=RecordKind.ACCEPT, init=False)


@dataclass(frozen=True)
class CancelHandOver:
    """The holder withdraws a pending hand-over."""

    batch_id: bytes
    event_id: bytes
    event_time: int
    kind: RecordKind = field(default=RecordKind.CANCEL_HAND_OVER, init=False)


@dataclass(frozen=True)
class QualityResult:
    """A laboratory result. `value_micro` is the value × 10^6."""

    batch_id: bytes
    event_id: bytes
    test_code: str  # ASCII, ≤ 16
    passed: bool
    value_micro: int
    unit: str  # ASCII, ≤ 8
    report_hash: bytes  # sha-256 of the report
    event_time: int
    kind: RecordKind = field(default=RecordKind.QUALITY, init=False)


@dataclass(frozen=True)
class ConditionSummary:
    """A cold-chain summary; temperatures in hundredths of a degree Celsius."""

    batch_id: bytes
    event_id: bytes
    readings_root: bytes
    count: int
    min_centi: int
    max_centi: int
    alarm: bool
    event_time: int
    kind: RecordKind = field(default=RecordKind.CONDITION, init=False)


@dataclass(frozen=True)
class StatusChange:
    """Quarantine, release or recall."""

    batch_id: bytes
    event_id: bytes
    status: Status
    reason: str  # ASCII, ≤ 16
    notice_hash: bytes
    event_time: int
    kind: RecordKind = field(default=RecordKind.STATUS, init=False)


@dataclass(frozen=True)
class Anchor:
    """Any other EPCIS event, anchored by its hash."""

    batch_id: bytes
    event_id: bytes
    anchor_kind: AnchorKind
    event_time: int
    kind: RecordKind = field(default=RecordKind.ANCHOR, init=False)


Record = (Commission | HandOver | Accept | CancelHandOver | QualityResult | ConditionSummary
          | StatusChange | Anchor)

# Which role a signer needs for each record kind (custody and conditions need the holder's
# position, checked against the chain, plus any role; status needs producer or regulator).
REQUIRED_ROLE: dict[RecordKind, int] = {
    RecordKind.COMMISSION: Role.PRODUCER,
    RecordKind.QUALITY: Role.LAB,
    RecordKind.STATUS: Role.PRODUCER | Role.REGULATOR,
    RecordKind.HAND_OVER: 0x1F,
    RecordKind.ACCEPT: 0x1F,
    RecordKind.CANCEL_HAND_OVER: 0x1F,
    RecordKind.CONDITION: 0x1F,
    RecordKind.ANCHOR: 0x1F,
}
