"""The audit report as JSON (for machines) and CSV (one row per event)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

from milktrace.audit.model import BatchHistory, Ledger, event_dict, hex0x, role_names
from milktrace.audit.run import AuditReport
from milktrace.events import (
    BatchCommissioned,
    BatchDerived,
    BatchStatusChanged,
    ConditionRecorded,
    CustodyAccepted,
    CustodyHandedOver,
    CustodyHandOverCancelled,
    DecodedEvent,
    Event,
    EventAnchored,
    OrganisationAdmitted,
    QualityRecorded,
    RecordEvent,
    RoleAdminChanged,
    RoleGranted,
    RoleRevoked,
    role_label,
)

FORMAT_VERSION = 1


def iso(ts: int | None) -> str:
    if ts is None:
        return ""
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(ts)


def event_batches(ev: DecodedEvent) -> tuple[bytes, ...]:
    if isinstance(ev, BatchDerived):
        return (ev.parent_id, ev.child_id)
    if isinstance(ev, RecordEvent):
        return (ev.batch_id,)
    return ()


def scoped_events(r: AuditReport) -> Iterator[DecodedEvent]:
    if r.scope is None:
        yield from r.ledger.events
        return
    for ev in r.ledger.events:
        if any(b in r.scope for b in event_batches(ev)):
            yield ev


def violations_by_event(r: AuditReport) -> dict[tuple[int, int], list[str]]:
    out: dict[tuple[int, int], list[str]] = {}
    for v in r.violations:
        names = out.setdefault((v.block, v.log_index), [])
        if v.check not in names:
            names.append(v.check)
    return out


def batch_dict(ledger: Ledger, b: BatchHistory) -> dict[str, Any]:
    c = b.commissioned
    out: dict[str, Any] = {
        "id": hex0x(b.batch_id),
        "path": b.path,
        "status": b.status.name,
        "holder": b.holder,
        "holderName": ledger.org_label(b.holder),
        "pending": b.pending,
        "producer": b.producer,
        "producerName": ledger.org_label(b.producer),
        "parents": [hex0x(p) for p in b.parents],
        "children": [hex0x(x) for x in b.children],
        "custody": [{"account": a, "name": ledger.org_label(a)} for a in b.custody],
    }
    if c is not None:
        out.update(
            gtin=c.gtin,
            lot=c.lot,
            productionDate=c.production_date,
            expiryDate=c.expiry_date,
            quantity=c.quantity,
            unit=c.unit,
            siteGln=c.site_gln,
        )
    out["events"] = [event_dict(e) for e in b.events]
    return out


def report_dict(r: AuditReport) -> dict[str, Any]:
    ledger = r.ledger
    paths = ledger.paths()
    results = r.results
    batches = [b for b in ledger.batches.values() if r.scope is None or b.batch_id in r.scope]
    out: dict[str, Any] = {
        "milktraceAudit": FORMAT_VERSION,
        "passed": r.passed,
        "chain": r.chain.as_dict() if r.chain else None,
        "policy": r.policy.as_dict(),
        "scope": None
        if r.focus is None
        else {
            "batch": hex0x(r.focus),
            "batchPath": paths.get(r.focus),
            "lineage": sorted(hex0x(b) for b in (r.scope or ())),
        },
        "summary": {
            "events": len(ledger.events),
            "batches": sum(1 for b in ledger.batches.values() if b.commissioned is not None),
            "organisations": sum(1 for o in ledger.orgs.values() if o.admitted is not None),
            "violations": sum(len(vs) for _c, vs in results),
            "checks": {c.name: not vs for c, vs in results},
        },
        "checks": [
            {
                "name": c.name,
                "title": c.title,
                "description": c.description,
                "passed": not vs,
                "checked": c.checked,
                "violations": [v.as_dict(paths) for v in vs],
            }
            for c, vs in results
        ],
        "organisations": [
            {
                "account": o.account,
                "orgId": o.org_id,
                "name": o.name,
                "gln": o.gln,
                "country": o.country,
                "roles": role_names(o.roles),
                "admin": o.admin,
                "records": o.records,
                "roleHistory": [
                    {
                        "role": rc.role,
                        "change": "granted" if rc.granted else "revoked",
                        "block": rc.block,
                        "logIndex": rc.log_index,
                        "tx": rc.tx,
                        "sender": rc.sender,
                    }
                    for rc in o.role_history
                ],
            }
            for o in ledger.orgs.values()
        ],
        "batches": [batch_dict(ledger, b) for b in batches],
        "recallImpact": [i.as_dict() for i in r.impacts],
        "documents": r.documents.as_dict() if r.documents else None,
        "fetch": {
            **(r.fetch.as_dict() if r.fetch else {}),
            "timings": {k: round(v, 4) for k, v in r.timings.items()},
        },
    }
    return out


def render_json(r: AuditReport) -> str:
    return json.dumps(report_dict(r), indent=1, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "block",
    "logIndex",
    "tx",
    "kind",
    "batch",
    "batchPath",
    "eventId",
    "actor",
    "actorName",
    "counterparty",
    "counterpartyName",
    "eventTime",
    "details",
    "violations",
)


def _details(ev: Event, ledger: Ledger) -> tuple[str, str]:
    """(counterparty account, details text) of an event."""
    if isinstance(ev, BatchCommissioned):
        parents = " ".join(
            ledger.batches[p].path or hex0x(p) if p in ledger.batches else hex0x(p)
            for p in ev.parents
        )
        return "", (
            f"gtin={ev.gtin} lot={ev.lot} production={ev.production_date} "
            f"expiry={ev.expiry_date} quantity={ev.quantity} {ev.unit} site={ev.site_gln}"
            + (f" parents={parents}" if parents else "")
        )
    if isinstance(ev, BatchDerived):
        child = ledger.batches.get(ev.child_id)
        return "", f"child={(child.path if child else None) or hex0x(ev.child_id)}"
    if isinstance(ev, (CustodyHandedOver, CustodyHandOverCancelled)):
        return ev.to, ""
    if isinstance(ev, CustodyAccepted):
        return ev.previous_holder, ""
    if isinstance(ev, QualityRecorded):
        return "", (
            f"test={ev.test_code} passed={str(ev.passed).lower()} "
            f"value={ev.value_micro / 1e6:g} {ev.unit} report={ev.report_hash.hex()}"
        )
    if isinstance(ev, ConditionRecorded):
        return "", (
            f"readings={ev.count} min={ev.min_centi / 100:.2f}C max={ev.max_centi / 100:.2f}C "
            f"alarm={str(ev.alarm).lower()} root={ev.readings_root.hex()}"
        )
    if isinstance(ev, BatchStatusChanged):
        return "", (
            f"status={ev.status.name} reason={ev.reason}"
            + (f" notice={ev.notice_hash.hex()}" if any(ev.notice_hash) else "")
        )
    if isinstance(ev, EventAnchored):
        return "", f"anchor={ev.anchor_kind.name}"
    if isinstance(ev, OrganisationAdmitted):
        return ev.account, f"orgId={ev.org_id} name={ev.name} gln={ev.gln} country={ev.country}"
    if isinstance(ev, (RoleGranted, RoleRevoked)):
        return ev.account, f"role={role_label(ev.role)}"
    if isinstance(ev, RoleAdminChanged):
        return "", (
            f"role={role_label(ev.role)} previousAdmin={role_label(ev.previous_admin_role)} "
            f"newAdmin={role_label(ev.new_admin_role)}"
        )
    return "", ""


def csv_rows(r: AuditReport) -> Iterator[dict[str, Any]]:
    ledger = r.ledger
    paths = ledger.paths()
    flagged = violations_by_event(r)
    for ev in scoped_events(r):
        batch = event_batches(ev)
        bid = batch[0] if batch else None
        actor = getattr(ev, "actor", None) or getattr(ev, "sender", None) or ""
        counterparty, details = _details(ev, ledger)
        eid = getattr(ev, "event_id", None)
        yield {
            "block": ev.block,
            "logIndex": ev.log_index,
            "tx": ev.tx,
            "kind": ev.kind,
            "batch": hex0x(bid) if bid else "",
            "batchPath": paths.get(bid, "") if bid else "",
            "eventId": hex0x(eid) if eid else "",
            "actor": actor,
            "actorName": ledger.org_label(actor) if actor else "",
            "counterparty": counterparty,
            "counterpartyName": ledger.org_label(counterparty) if counterparty else "",
            "eventTime": iso(getattr(ev, "event_time", None)),
            "details": details,
            "violations": " ".join(flagged.get((ev.block, ev.log_index), [])),
        }


def render_csv(r: AuditReport) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in csv_rows(r):
        w.writerow(row)
    return buf.getvalue()
