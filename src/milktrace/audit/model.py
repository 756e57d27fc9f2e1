"""What the audit rebuilds and reports: histories, violations, check results.

Everything here is plain data. `rebuild.py` fills `Ledger` from decoded events, `checks.py`
produces `CheckResult`s, `report.py` turns them into JSON / CSV / HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from milktrace.events import (
    BatchCommissioned,
    DecodedEvent,
    Event,
    OrganisationAdmitted,
    RoleGranted,
    RoleRevoked,
    role_label,
)
from milktrace.types import Role, Status


def hex0x(raw: bytes) -> str:
    return "0x" + raw.hex()


def role_names(bits: int) -> list[str]:
    return [r.name for r in Role if bits & r]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule, pinned to the event that broke it."""

    check: str
    message: str
    kind: str  # event kind, e.g. "CustodyHandedOver"
    block: int
    log_index: int
    tx: str
    batch_id: bytes | None = None
    event_id: bytes | None = None
    actor: str | None = None

    @classmethod
    def at(cls, check: str, ev: Event, message: str, batch_id: bytes | None = None) -> Violation:
        bid = batch_id if batch_id is not None else getattr(ev, "batch_id", None)
        eid = getattr(ev, "event_id", None)
        actor = (
            getattr(ev, "actor", None)
            or getattr(ev, "sender", None)
            or getattr(ev, "account", None)
        )
        return cls(check, message, ev.kind, ev.block, ev.log_index, ev.tx, bid, eid, actor)

    def as_dict(self, paths: dict[bytes, str] | None = None) -> dict[str, Any]:
        return {
            "check": self.check,
            "message": self.message,
            "batch": hex0x(self.batch_id) if self.batch_id is not None else None,
            "batchPath": (paths or {}).get(self.batch_id) if self.batch_id is not None else None,
            "event": {
                "id": hex0x(self.event_id) if self.event_id is not None else None,
                "kind": self.kind,
                "tx": self.tx,
                "block": self.block,
                "logIndex": self.log_index,
                "actor": self.actor,
            },
        }


@dataclass(frozen=True)
class CheckResult:
    name: str
    title: str
    description: str
    violations: tuple[Violation, ...]
    checked: int  # how many events or objects the check looked at

    @property
    def passed(self) -> bool:
        return not self.violations


@dataclass
class RoleChange:
    """One grant or revocation in an organisation's role history."""

    role: str
    granted: bool
    block: int
    log_index: int
    tx: str
    sender: str


@dataclass
class OrgHistory:
    account: str
    org_id: int = 0
    name: str = ""
    gln: str = ""
    country: str = ""
    admitted: OrganisationAdmitted | None = None
    roles: int = 0  # registry role bits now (from the history)
    admin: bool = False  # holds DEFAULT_ADMIN_ROLE now
    role_history: list[RoleChange] = field(default_factory=list)
    records: int = 0  # record events it wrote

    @property
    def label(self) -> str:
        return self.name or self.account


@dataclass
class BatchHistory:
    batch_id: bytes
    commissioned: BatchCommissioned | None = None
    events: list[DecodedEvent] = field(
        default_factory=list
    )  # its own records (+ BatchDerived as parent)
    parents: tuple[bytes, ...] = ()
    children: list[bytes] = field(default_factory=list)
    holder: str | None = None
    pending: str | None = None
    producer: str | None = None
    status: Status = Status.UNKNOWN
    custody: list[str] = field(default_factory=list)  # successive holders, producer first

    @property
    def path(self) -> str | None:
        c = self.commissioned
        return f"/01/{c.gtin}/10/{c.lot}" if c else None


@dataclass
class Ledger:
    """Everything rebuilt from the event stream."""

    events: list[DecodedEvent]
    batches: dict[bytes, BatchHistory]
    orgs: dict[str, OrgHistory]
    admins: set[str]

    def paths(self) -> dict[bytes, str]:
        return {bid: b.path for bid, b in self.batches.items() if b.path}

    def org_label(self, account: str | None) -> str:
        if not account:
            return ""
        org = self.orgs.get(account)
        if org and org.name:
            return org.name
        if account in self.admins or (org and org.admin):
            return "consortium admin"
        return account


def plain(value: Any) -> Any:
    """JSON-ready form of event fields: bytes → 0x hex, enums → names, tuples → lists."""
    if isinstance(value, bytes):
        return hex0x(value)
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def event_dict(ev: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": ev.kind}
    for f in fields(ev):  # type: ignore[arg-type]
        out[_camel(f.name)] = plain(getattr(ev, f.name))
    if isinstance(ev, (RoleGranted, RoleRevoked)):
        out["roleName"] = role_label(ev.role)
    return out


_CAMEL: dict[str, str] = {}


def _camel(name: str) -> str:
    got = _CAMEL.get(name)
    if got is None:
        head, *rest = name.split("_")
        got = head + "".join(p.title() for p in rest)
        _CAMEL[name] = got
    return got
