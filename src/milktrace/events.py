"""Registry events as typed records, decoded fast from raw JSON-RPC logs.

One frozen dataclass per event of `ITraceRegistry` (and the AccessControl role events the
registry inherits). `decode_logs(raw_logs)` turns `eth_getLogs` results into them, in the
order given. Decoding is hand-rolled over the fixed ABI layout of each event (32-byte words;
dynamic `string` / `bytes32[]` tails followed by their offsets), so it runs several times
faster than web3's generic event decoding, and it is strict: a log whose topic 0 is not a
registry event, whose topic count or data length is wrong, whose words are not canonical ABI
encodings (dirty high bytes, a bool that is neither 0 nor 1, an enum out of range), or whose
strings are not UTF-8, raises `AuditError` naming block, transaction and log index.

Representation:
- ids (batch ids, event ids, hashes, roles) are `bytes` of length 32;
- accounts are EIP-55 checksum strings (as web3 returns them);
- GTINs and GLNs are digit strings (14 and 13 digits), dates `YYYYMMDD` ints;
- fixed-width ASCII codes (test codes, units, reasons, country) are `str` without padding;
- every event carries where it is: `block`, `tx_index`, `log_index`, `tx` (0x hex hash).

Accepted input logs are JSON-RPC dicts (hex strings) or web3 `LogReceipt`s (HexBytes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_utils import keccak, to_checksum_address

from milktrace.errors import AuditError
from milktrace.types import AnchorKind, Role, Status

__all__ = [
    "Event",
    "RecordEvent",
    "OrganisationAdmitted",
    "BatchCommissioned",
    "BatchDerived",
    "CustodyHandedOver",
    "CustodyAccepted",
    "CustodyHandOverCancelled",
    "QualityRecorded",
    "ConditionRecorded",
    "BatchStatusChanged",
    "EventAnchored",
    "RoleGranted",
    "RoleRevoked",
    "RoleAdminChanged",
    "DecodedEvent",
    "EVENT_TYPES",
    "TOPIC0",
    "ROLE_IDS",
    "ROLE_BITS",
    "decode_log",
    "decode_logs",
    "role_label",
]

# --------------------------------------------------------------------------- roles

DEFAULT_ADMIN_ROLE = bytes(32)
ROLE_IDS: dict[Role, bytes] = {r: keccak(text=r.role_name) for r in Role}
ROLE_BITS: dict[bytes, int] = {v: int(k) for k, v in ROLE_IDS.items()}
_ROLE_LABELS: dict[bytes, str] = {v: k.name for k, v in ROLE_IDS.items()}
_ROLE_LABELS[DEFAULT_ADMIN_ROLE] = "DEFAULT_ADMIN"


def role_label(role: bytes) -> str:
    """`PRODUCER`, `LAB`, ..., `DEFAULT_ADMIN`, or the role's 0x hex when unknown."""
    return _ROLE_LABELS.get(role) or "0x" + role.hex()


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Event:
    """Where a log is on chain. Ordered by (block, log_index)."""

    kind: ClassVar[str] = "Event"
    signature: ClassVar[str] = ""

    block: int
    tx_index: int
    log_index: int
    tx: str

    @property
    def position(self) -> tuple[int, int]:
        return (self.block, self.log_index)


@dataclass(frozen=True, slots=True)
class RecordEvent(Event):
    """A record about one batch: topic 1 batch id, topic 2 source event id, topic 3 actor."""

    batch_id: bytes
    event_id: bytes
    actor: str


@dataclass(frozen=True, slots=True)
class OrganisationAdmitted(Event):
    """The admin admitted `account` as organisation number `org_id`."""

    kind: ClassVar[str] = "OrganisationAdmitted"
    signature: ClassVar[str] = "OrganisationAdmitted(address,uint32,uint64,string,bytes2)"

    account: str
    org_id: int
    gln: str
    name: str
    country: str


@dataclass(frozen=True, slots=True)
class BatchCommissioned(RecordEvent):
    """A batch was commissioned by `actor` (its producer), from `parents` if transformed."""

    kind: ClassVar[str] = "BatchCommissioned"
    signature: ClassVar[str] = (
        "BatchCommissioned(bytes32,bytes32,address,uint64,string,uint32,"
        "uint32,uint64,bytes8,uint64,bytes32[],uint64)"
    )

    gtin: str
    lot: str
    production_date: int
    expiry_date: int
    quantity: int
    unit: str
    site_gln: str
    parents: tuple[bytes, ...]
    event_time: int


@dataclass(frozen=True, slots=True)
class BatchDerived(Event):
    """`child_id` was made from `parent_id` (topic 1 is the parent)."""

    kind: ClassVar[str] = "BatchDerived"
    signature: ClassVar[str] = "BatchDerived(bytes32,bytes32,bytes32)"

    parent_id: bytes
    event_id: bytes
    child_id: bytes

    @property
    def batch_id(self) -> bytes:
        return self.parent_id


@dataclass(frozen=True, slots=True)
class CustodyHandedOver(RecordEvent):
    """The holder (`actor`) offered the batch to `to`."""

    kind: ClassVar[str] = "CustodyHandedOver"
    signature: ClassVar[str] = "CustodyHandedOver(bytes32,bytes32,address,address,uint64)"

    to: str
    event_time: int


@dataclass(frozen=True, slots=True)
class CustodyAccepted(RecordEvent):
    """The addressee (`actor`) accepted the batch from `previous_holder` and now holds it."""

    kind: ClassVar[str] = "CustodyAccepted"
    signature: ClassVar[str] = "CustodyAccepted(bytes32,bytes32,address,address,uint64)"

    previous_holder: str
    event_time: int


@dataclass(frozen=True, slots=True)
class CustodyHandOverCancelled(RecordEvent):
    """The holder (`actor`) withdrew its pending hand-over to `to`."""

    kind: ClassVar[str] = "CustodyHandOverCancelled"
    signature: ClassVar[str] = "CustodyHandOverCancelled(bytes32,bytes32,address,address,uint64)"

    to: str
    event_time: int


@dataclass(frozen=True, slots=True)
class QualityRecorded(RecordEvent):
    """A laboratory (`actor`) recorded a result; `value_micro` is the value × 10^6."""

    kind: ClassVar[str] = "QualityRecorded"
    signature: ClassVar[str] = (
        "QualityRecorded(bytes32,bytes32,address,bytes16,bool,int64,bytes8,bytes32,uint64)"
    )

    test_code: str
    passed: bool
    value_micro: int
    unit: str
    report_hash: bytes
    event_time: int


@dataclass(frozen=True, slots=True)
class ConditionRecorded(RecordEvent):
    """The holder or pending addressee (`actor`) recorded a cold-chain summary (0.01 °C)."""

    kind: ClassVar[str] = "ConditionRecorded"
    signature: ClassVar[str] = (
        "ConditionRecorded(bytes32,bytes32,address,bytes32,uint32,int32,int32,bool,uint64)"
    )

    readings_root: bytes
    count: int
    min_centi: int
    max_centi: int
    alarm: bool
    event_time: int


@dataclass(frozen=True, slots=True)
class BatchStatusChanged(RecordEvent):
    """The producer or a regulator (`actor`) set the batch's status."""

    kind: ClassVar[str] = "BatchStatusChanged"
    signature: ClassVar[str] = (
        "BatchStatusChanged(bytes32,bytes32,address,uint8,bytes16,bytes32,uint64)"
    )

    status: Status
    reason: str
    notice_hash: bytes
    event_time: int


@dataclass(frozen=True, slots=True)
class EventAnchored(RecordEvent):
    """`actor` anchored another EPCIS event (`event_id` is its hash) against the batch."""

    kind: ClassVar[str] = "EventAnchored"
    signature: ClassVar[str] = "EventAnchored(bytes32,bytes32,address,uint8,uint64)"

    anchor_kind: AnchorKind
    event_time: int


@dataclass(frozen=True, slots=True)
class RoleGranted(Event):
    """AccessControl: `sender` granted `role` to `account`."""

    kind: ClassVar[str] = "RoleGranted"
    signature: ClassVar[str] = "RoleGranted(bytes32,address,address)"

    role: bytes
    account: str
    sender: str

    @property
    def role_name(self) -> str:
        return role_label(self.role)


@dataclass(frozen=True, slots=True)
class RoleRevoked(Event):
    """AccessControl: `sender` revoked `role` from `account` (or `account` renounced it)."""

    kind: ClassVar[str] = "RoleRevoked"
    signature: ClassVar[str] = "RoleRevoked(bytes32,address,address)"

    role: bytes
    account: str
    sender: str

    @property
    def role_name(self) -> str:
        return role_label(self.role)


@dataclass(frozen=True, slots=True)
class RoleAdminChanged(Event):
    """AccessControl: the admin role of `role` changed (the registry never emits it today)."""

    kind: ClassVar[str] = "RoleAdminChanged"
    signature: ClassVar[str] = "RoleAdminChanged(bytes32,bytes32,bytes32)"

    role: bytes
    previous_admin_role: bytes
    new_admin_role: bytes


DecodedEvent = (
    OrganisationAdmitted
    | BatchCommissioned
    | BatchDerived
    | CustodyHandedOver
    | CustodyAccepted
    | CustodyHandOverCancelled
    | QualityRecorded
    | ConditionRecorded
    | BatchStatusChanged
    | EventAnchored
    | RoleGranted
    | RoleRevoked
    | RoleAdminChanged
)

EVENT_TYPES: tuple[type[Event], ...] = (
    OrganisationAdmitted,
    BatchCommissioned,
    BatchDerived,
    CustodyHandedOver,
    CustodyAccepted,
    CustodyHandOverCancelled,
    QualityRecorded,
    ConditionRecorded,
    BatchStatusChanged,
    EventAnchored,
    RoleGranted,
    RoleRevoked,
    RoleAdminChanged,
)

# topic 0 (0x-prefixed lowercase hex) → event class
TOPIC0: dict[str, type[Event]] = {"0x" + keccak(text=t.signature).hex(): t for t in EVENT_TYPES}
TOPIC0_OF: dict[type[Event], str] = {v: k for k, v in TOPIC0.items()}

# --------------------------------------------------------------------------- decoding helpers

_Z = bytes(32)
_ZERO_HEX24 = "0" * 24
_ADDR_CACHE: dict[str, str] = {}
_MAX_I64 = 2**63
_MAX_I32 = 2**31


Meta = tuple[int, int, int, str]  # block, tx index, log index, tx hash


class _Bad(Exception):
    """Internal: what is wrong with the log being decoded."""


def _topic_hex(t: Any) -> str:
    if isinstance(t, str):
        return t.lower() if t[:2] in ("0x", "0X") else "0x" + t.lower()
    return "0x" + bytes(t).hex()


def _address_topic(t: str) -> str:
    # '0x' + 24 zero nibbles + 40 address nibbles
    got = _ADDR_CACHE.get(t)
    if got is not None:
        return got
    if len(t) != 66 or t[2:26] != _ZERO_HEX24:
        raise _Bad(f"topic {t} is not an ABI-encoded address")
    got = to_checksum_address("0x" + t[26:])
    _ADDR_CACHE[t] = got
    return got


def _address_word(d: bytes, at: int) -> str:
    if d[at : at + 12] != _Z[:12]:
        raise _Bad(f"data word {at // 32} is not an ABI-encoded address")
    return _address_topic("0x" + d[at : at + 32].hex())


def _b32(t: str) -> bytes:
    if len(t) != 66:
        raise _Bad(f"topic {t!r} is not 32 bytes")
    return bytes.fromhex(t[2:])


def _uint(d: bytes, at: int, size: int) -> int:
    # `size` bytes wide, right-aligned in the word at `at`
    pad = 32 - size
    if d[at : at + pad] != _Z[:pad]:
        raise _Bad(f"data word {at // 32} is not a uint{size * 8}")
    return int.from_bytes(d[at + pad : at + 32], "big")


def _int(d: bytes, at: int, bound: int, bits: int) -> int:
    v = int.from_bytes(d[at : at + 32], "big", signed=True)
    if not -bound <= v < bound:
        raise _Bad(f"data word {at // 32} is not an int{bits}")
    return v


def _bool(d: bytes, at: int) -> bool:
    if d[at : at + 31] != _Z[:31] or d[at + 31] > 1:
        raise _Bad(f"data word {at // 32} is not a bool")
    return d[at + 31] == 1


def _fixed(d: bytes, at: int, size: int) -> bytes:
    # bytesN: left-aligned, zero padded
    if d[at + size : at + 32] != _Z[: 32 - size]:
        raise _Bad(f"data word {at // 32} is not a bytes{size}")
    return d[at : at + size]


def _ascii(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii", errors="backslashreplace")


def _dynamic(d: bytes, at: int, head_end: int) -> tuple[int, int]:
    """(start of the payload, length) of the dynamic value whose offset word is at `at`."""
    off = _uint(d, at, 32)
    if off < head_end or off % 32 or off + 32 > len(d):
        raise _Bad(f"data word {at // 32}: offset {off} out of bounds")
    n = _uint(d, off, 32)
    return off + 32, n


def _string(d: bytes, at: int, head_end: int) -> tuple[str, int]:
    start, n = _dynamic(d, at, head_end)
    padded = (n + 31) // 32 * 32
    if start + padded > len(d):
        raise _Bad(f"data word {at // 32}: string of {n} bytes runs past the data")
    if d[start + n : start + padded] != bytes(padded - n):
        raise _Bad(f"data word {at // 32}: string padding is not zero")
    try:
        text = d[start : start + n].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"data word {at // 32}: string is not UTF-8 ({exc.reason})") from None
    return text, start + padded


def _words(data: Any) -> bytes:
    if isinstance(data, str):
        return bytes.fromhex(data[2:] if data[:2] in ("0x", "0X") else data)
    return bytes(data)


def _int_field(v: Any) -> int:
    if isinstance(v, int):
        return v
    return int(v, 16)


def _tx_hex(v: Any) -> str:
    if isinstance(v, str):
        return v.lower()
    return "0x" + bytes(v).hex()


# --------------------------------------------------------------------------- per-event decoders
# Each takes (meta tuple, topics as 0x hex strings, data bytes) and returns the event.


def _need(topics: list[str], d: bytes, n_topics: int, n_bytes: int | None) -> None:
    if len(topics) != n_topics:
        raise _Bad(f"{len(topics)} topics, expected {n_topics}")
    if n_bytes is not None and len(d) != n_bytes:
        raise _Bad(f"{len(d)} data bytes, expected {n_bytes}")


def _dec_org(m: Meta, t: list[str], d: bytes) -> OrganisationAdmitted:
    _need(t, d, 4, None)
    if len(d) < 96:
        raise _Bad(f"{len(d)} data bytes, expected at least 96")
    org_id = int(t[2], 16)
    gln = int(t[3], 16)
    if org_id >= 2**32 or gln >= 2**64:
        raise _Bad("orgId or gln topic out of range")
    name, end = _string(d, 0, 64)
    if end != len(d):
        raise _Bad(f"{len(d) - end} trailing data bytes")
    country = _fixed(d, 32, 2)
    return OrganisationAdmitted(
        *m, _address_topic(t[1]), org_id, f"{gln:013d}", name, _ascii(country)
    )


def _dec_commission(m: Meta, t: list[str], d: bytes) -> BatchCommissioned:
    _need(t, d, 4, None)
    head = 9 * 32
    if len(d) < head + 64:
        raise _Bad(f"{len(d)} data bytes, expected at least {head + 64}")
    gtin = _uint(d, 0, 8)
    lot, lot_end = _string(d, 32, head)
    p_start, count = _dynamic(d, 224, head)
    p_end = p_start + 32 * count
    if p_end > len(d):
        raise _Bad(f"parents: {count} entries run past the data")
    if max(p_end, lot_end) != len(d):
        raise _Bad(f"{len(d) - max(p_end, lot_end)} trailing data bytes")
    parents = tuple(d[i : i + 32] for i in range(p_start, p_end, 32))
    return BatchCommissioned(
        *m,
        _b32(t[1]),
        _b32(t[2]),
        _address_topic(t[3]),
        f"{gtin:014d}",
        lot,
        _uint(d, 64, 4),
        _uint(d, 96, 4),
        _uint(d, 128, 8),
        _ascii(_fixed(d, 160, 8)),
        f"{_uint(d, 192, 8):013d}",
        parents,
        _uint(d, 256, 8),
    )


def _dec_derived(m: Meta, t: list[str], d: bytes) -> BatchDerived:
    _need(t, d, 4, 0)
    return BatchDerived(*m, _b32(t[1]), _b32(t[2]), _b32(t[3]))


def _dec_custody(cls: type) -> Any:
    def dec(m: Meta, t: list[str], d: bytes) -> Any:
        _need(t, d, 4, 64)
        return cls(
            *m, _b32(t[1]), _b32(t[2]), _address_topic(t[3]), _address_word(d, 0), _uint(d, 32, 8)
        )

    return dec


def _dec_quality(m: Meta, t: list[str], d: bytes) -> QualityRecorded:
    _need(t, d, 4, 192)
    return QualityRecorded(
        *m,
        _b32(t[1]),
        _b32(t[2]),
        _address_topic(t[3]),
        _ascii(_fixed(d, 0, 16)),
        _bool(d, 32),
        _int(d, 64, _MAX_I64, 64),
        _ascii(_fixed(d, 96, 8)),
        d[128:160],
        _uint(d, 160, 8),
    )


def _dec_condition(m: Meta, t: list[str], d: bytes) -> ConditionRecorded:
    _need(t, d, 4, 192)
    return ConditionRecorded(
        *m,
        _b32(t[1]),
        _b32(t[2]),
        _address_topic(t[3]),
        d[0:32],
        _uint(d, 32, 4),
        _int(d, 64, _MAX_I32, 32),
        _int(d, 96, _MAX_I32, 32),
        _bool(d, 128),
        _uint(d, 160, 8),
    )


_STATUSES = tuple(Status)
_ANCHORS = tuple(AnchorKind)


def _dec_status(m: Meta, t: list[str], d: bytes) -> BatchStatusChanged:
    _need(t, d, 4, 128)
    s = _uint(d, 0, 1)
    if s >= len(_STATUSES):
        raise _Bad(f"status {s} is not a Status")
    return BatchStatusChanged(
        *m,
        _b32(t[1]),
        _b32(t[2]),
        _address_topic(t[3]),
        _STATUSES[s],
        _ascii(_fixed(d, 32, 16)),
        d[64:96],
        _uint(d, 96, 8),
    )


def _dec_anchor(m: Meta, t: list[str], d: bytes) -> EventAnchored:
    _need(t, d, 4, 64)
    k = _uint(d, 0, 1)
    if k >= len(_ANCHORS):
        raise _Bad(f"anchor kind {k} is not an AnchorKind")
    return EventAnchored(
        *m, _b32(t[1]), _b32(t[2]), _address_topic(t[3]), _ANCHORS[k], _uint(d, 32, 8)
    )


def _dec_role(cls: type) -> Any:
    def dec(m: Meta, t: list[str], d: bytes) -> Any:
        _need(t, d, 4, 0)
        return cls(*m, _b32(t[1]), _address_topic(t[2]), _address_topic(t[3]))

    return dec


def _dec_role_admin(m: Meta, t: list[str], d: bytes) -> RoleAdminChanged:
    _need(t, d, 4, 0)
    return RoleAdminChanged(*m, _b32(t[1]), _b32(t[2]), _b32(t[3]))


_DECODERS: dict[str, Any] = {
    TOPIC0_OF[OrganisationAdmitted]: _dec_org,
    TOPIC0_OF[BatchCommissioned]: _dec_commission,
    TOPIC0_OF[BatchDerived]: _dec_derived,
    TOPIC0_OF[CustodyHandedOver]: _dec_custody(CustodyHandedOver),
    TOPIC0_OF[CustodyAccepted]: _dec_custody(CustodyAccepted),
    TOPIC0_OF[CustodyHandOverCancelled]: _dec_custody(CustodyHandOverCancelled),
    TOPIC0_OF[QualityRecorded]: _dec_quality,
    TOPIC0_OF[ConditionRecorded]: _dec_condition,
    TOPIC0_OF[BatchStatusChanged]: _dec_status,
    TOPIC0_OF[EventAnchored]: _dec_anchor,
    TOPIC0_OF[RoleGranted]: _dec_role(RoleGranted),
    TOPIC0_OF[RoleRevoked]: _dec_role(RoleRevoked),
    TOPIC0_OF[RoleAdminChanged]: _dec_role_admin,
}


def _where(raw: Mapping[str, Any], index: int) -> str:
    def get(key: str) -> str:
        v = raw.get(key)
        if v is None:
            return "?"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            try:
                return str(int(v, 16)) if key != "transactionHash" else v
            except ValueError:
                return v
        return "0x" + bytes(v).hex()

    return (
        f"log #{index} (block {get('blockNumber')}, tx {get('transactionHash')}, "
        f"log index {get('logIndex')})"
    )


def decode_log(raw: Mapping[str, Any], address: str | None = None, index: int = 0) -> DecodedEvent:
    """Decode one raw log; raise AuditError when it is not a well-formed registry event."""
    try:
        if raw.get("removed"):
            raise _Bad("the node marks it removed (a reorganised block)")
        if address is not None and str(raw.get("address", "")).lower() != address.lower():
            raise _Bad(f"emitted by {raw.get('address')}, not the registry {address}")
        topics = [_topic_hex(x) for x in raw["topics"]]
        if not topics:
            raise _Bad("no topics (an anonymous event)")
        dec = _DECODERS.get(topics[0])
        if dec is None:
            raise _Bad(f"topic 0 {topics[0]} is not a registry event")
        meta = (
            _int_field(raw["blockNumber"]),
            _int_field(raw["transactionIndex"]),
            _int_field(raw["logIndex"]),
            _tx_hex(raw["transactionHash"]),
        )
        return dec(meta, topics, _words(raw["data"]))  # type: ignore[no-any-return]
    except _Bad as exc:
        raise AuditError(f"{_where(raw, index)}: undecodable: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise AuditError(f"{_where(raw, index)}: undecodable: malformed log ({exc!r})") from None


def decode_logs(
    raw_logs: Iterable[Mapping[str, Any]], address: str | None = None
) -> list[DecodedEvent]:
    """Decode every log (strict: the first undecodable one raises AuditError).

    With `address`, a log emitted by any other contract is an error too.
    """
    out: list[DecodedEvent] = []
    append = out.append
    decoders = _DECODERS
    addr = address.lower() if address else None
    for i, raw in enumerate(raw_logs):
        # fast path: JSON-RPC dicts with lowercase hex strings
        topics = raw.get("topics")
        data = raw.get("data")
        if (
            type(data) is str
            and type(topics) is list
            and topics
            and type(topics[0]) is str
            and not raw.get("removed")
            and (addr is None or raw.get("address", "").lower() == addr)
        ):
            dec = decoders.get(topics[0])
            if dec is not None:
                try:
                    meta = (
                        int(raw["blockNumber"], 16),
                        int(raw["transactionIndex"], 16),
                        int(raw["logIndex"], 16),
                        raw["transactionHash"],
                    )
                    append(dec(meta, topics, bytes.fromhex(data[2:])))
                    continue
                except (_Bad, KeyError, TypeError, ValueError):
                    pass  # the slow path names the problem
        append(decode_log(raw, address, i))
    return out
