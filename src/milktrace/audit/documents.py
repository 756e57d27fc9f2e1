"""Lab reports and notices on disk against their on-chain sha-256 hashes.

`match_documents(dir, ledger)` hashes every file under `dir` (recursively) and sorts them into
matched (with the records that carry the hash: batch, test or status), not on chain, and on
chain but missing (hashes a record carries for which no file was found).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milktrace.audit.model import Ledger, hex0x
from milktrace.errors import AuditError
from milktrace.events import BatchStatusChanged, QualityRecorded

_ZERO = bytes(32)


def sha256_file(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as fp:
        for chunk in iter(lambda: fp.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


@dataclass
class DocumentMatch:
    matched: list[dict[str, Any]] = field(default_factory=list)
    not_on_chain: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    directory: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "matched": self.matched,
            "notOnChain": self.not_on_chain,
            "missing": self.missing,
        }


def _record(ev: QualityRecorded | BatchStatusChanged, paths: dict[bytes, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "batch": hex0x(ev.batch_id),
        "batchPath": paths.get(ev.batch_id),
        "kind": ev.kind,
        "eventId": hex0x(ev.event_id),
        "tx": ev.tx,
        "block": ev.block,
        "by": ev.actor,
    }
    if isinstance(ev, QualityRecorded):
        out.update(test=ev.test_code, passed=ev.passed)
    else:
        out.update(status=ev.status.name, reason=ev.reason)
    return out


def on_chain_hashes(ledger: Ledger) -> dict[bytes, list[QualityRecorded | BatchStatusChanged]]:
    hashes: dict[bytes, list[QualityRecorded | BatchStatusChanged]] = {}
    for ev in ledger.events:
        if isinstance(ev, QualityRecorded):
            h = ev.report_hash
        elif isinstance(ev, BatchStatusChanged):
            h = ev.notice_hash
        else:
            continue
        if h != _ZERO:
            hashes.setdefault(h, []).append(ev)
    return hashes


def match_documents(
    directory: Path, ledger: Ledger, batches: set[bytes] | None = None
) -> DocumentMatch:
    """Match files to on-chain hashes; with `batches`, only records of those batches count."""
    root = Path(directory)
    if not root.is_dir():
        raise AuditError(f"{root}: not a directory (--docs expects a folder of reports)")
    paths = ledger.paths()
    hashes = on_chain_hashes(ledger)
    if batches is not None:
        hashes = {h: [e for e in evs if e.batch_id in batches] for h, evs in hashes.items()}
        hashes = {h: evs for h, evs in hashes.items() if evs}
    result = DocumentMatch(directory=str(root))
    found: set[bytes] = set()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = sha256_file(f)
        rel = f.relative_to(root).as_posix()
        evs = hashes.get(digest)
        if evs:
            found.add(digest)
            result.matched.append(
                {"file": rel, "sha256": digest.hex(), "records": [_record(e, paths) for e in evs]}
            )
        else:
            result.not_on_chain.append({"file": rel, "sha256": digest.hex()})
    for digest, evs in hashes.items():
        if digest not in found:
            result.missing.append(
                {"sha256": digest.hex(), "records": [_record(e, paths) for e in evs]}
            )
    return result
