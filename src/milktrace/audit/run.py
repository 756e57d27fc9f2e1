"""Run an audit: read every registry event, rebuild, check, compare with the views."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milktrace.audit import views
from milktrace.audit.checks import BatchView, OrgView, check_state, run_checks
from milktrace.audit.documents import DocumentMatch, match_documents
from milktrace.audit.impact import RecallImpact, recall_impact, recalled_batches
from milktrace.audit.model import CheckResult, Ledger, Violation
from milktrace.audit.policy import DEFAULT_POLICY, Policy
from milktrace.audit.rebuild import ancestors, descendants, in_chain_order, rebuild
from milktrace.chain import Deployment
from milktrace.errors import AuditError, InvalidIdentifier
from milktrace.events import DecodedEvent, decode_logs
from milktrace.identifiers import parse_digital_link
from milktrace.logs import PagingStats, RpcClient, fetch_logs, safe_head

log = logging.getLogger(__name__)


@dataclass
class ChainInfo:
    chain_id: int
    registry: str
    deploy_block: int
    from_block: int
    to_block: int
    head: int
    confirmations: int
    as_of_time: int | None = None  # timestamp of `to_block`

    def as_dict(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "registry": self.registry,
            "deployBlock": self.deploy_block,
            "fromBlock": self.from_block,
            "toBlock": self.to_block,
            "confirmations": self.confirmations,
            "asOfTime": self.as_of_time,
        }


@dataclass
class AuditReport:
    chain: ChainInfo | None
    policy: Policy
    ledger: Ledger
    checks: list[CheckResult]
    focus: bytes | None = None  # --batch
    scope: set[bytes] | None = None  # the focus batch and its lineage
    impacts: list[RecallImpact] = field(default_factory=list)
    documents: DocumentMatch | None = None
    fetch: PagingStats | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def in_scope(self, v: Violation) -> bool:
        return self.scope is None or (v.batch_id is not None and v.batch_id in self.scope)

    @property
    def results(self) -> list[tuple[CheckResult, list[Violation]]]:
        return [(c, [v for v in c.violations if self.in_scope(v)]) for c in self.checks]

    @property
    def violations(self) -> list[Violation]:
        return [v for _c, vs in self.results for v in vs]

    @property
    def passed(self) -> bool:
        return not self.violations


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector during bulk decoding and checking: they allocate
    hundreds of thousands of acyclic objects, which would trigger many useless full
    collections (about a third of the decoding time at 100k events)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def resolve_batch(text: str) -> bytes:
    """A batch id from `0x` + 64 hex digits, a Digital Link path or a Digital Link URL."""
    t = text.strip()
    if t.lower().startswith("0x") and len(t) == 66:
        try:
            return bytes.fromhex(t[2:])
        except ValueError:
            pass
    try:
        return parse_digital_link(t).id
    except InvalidIdentifier as exc:
        raise AuditError(
            f"--batch {text!r}: expected a batch id (0x + 64 hex digits) or a "
            f"Digital Link path /01/{{GTIN}}/10/{{lot}}: {exc}"
        ) from exc


def analyse(
    events: Sequence[DecodedEvent],
    policy: Policy = DEFAULT_POLICY,
    batch_views: dict[bytes, BatchView] | None = None,
    org_views: dict[str, OrgView] | None = None,
    focus: bytes | None = None,
) -> AuditReport:
    """Rebuild and check decoded events (no chain access): the core of `run_audit`."""
    events = in_chain_order(events)
    ledger = rebuild(events)
    checks = run_checks(events, policy)
    if batch_views is not None and org_views is not None:
        checks.append(check_state(ledger, batch_views, org_views))
    scope = None
    if focus is not None:
        b = ledger.batches.get(focus)
        if b is None or b.commissioned is None:
            raise AuditError(f"batch 0x{focus.hex()} is not on chain (no BatchCommissioned)")
        scope = {
            focus,
            *(i for i, _ in ancestors(ledger, focus)),
            *(i for i, _ in descendants(ledger, focus)),
        }
        impacts = [recall_impact(ledger, focus)]
    else:
        impacts = [recall_impact(ledger, bid) for bid in recalled_batches(ledger)]
    return AuditReport(None, policy, ledger, checks, focus, scope, impacts)


def run_audit(
    rpc: str,
    deployment: Deployment,
    *,
    confirmations: int = 0,
    policy: Policy = DEFAULT_POLICY,
    batch: str | None = None,
    docs: Path | None = None,
    initial_span: int = 100_000,
    client: RpcClient | None = None,
) -> AuditReport:
    """The whole audit of the registry in `deployment`, as seen through `rpc`."""
    own = client is None
    client = client or RpcClient(rpc)
    try:
        t0 = time.perf_counter()
        chain_id = client.chain_id()
        if chain_id != deployment.chain_id:
            raise AuditError(
                f"deployment manifest is for chain {deployment.chain_id}, "
                f"the node at {rpc} is chain {chain_id}"
            )
        head, to_block = safe_head(client, confirmations)
        if to_block < deployment.deploy_block:
            raise AuditError(
                f"nothing to audit: the registry was deployed at block "
                f"{deployment.deploy_block}, the last block with {confirmations} "
                f"confirmations is {to_block}"
            )
        code = client.call("eth_getCode", [deployment.address, hex(to_block)])
        if not code or code == "0x":
            raise AuditError(
                f"no contract code at {deployment.address} on chain {chain_id} "
                f"at block {to_block}: wrong manifest or a restarted dev chain"
            )
        block = client.call("eth_getBlockByNumber", [hex(to_block), False]) or {}
        stats = PagingStats()
        raw = fetch_logs(
            client,
            deployment.address,
            deployment.deploy_block,
            to_block,
            initial_span=initial_span,
            stats=stats,
        )
        t_fetch = time.perf_counter()
        rpc_fetch = client.seconds
        with paused_gc():
            events = decode_logs(raw, deployment.address)
            del raw
            t_decode = time.perf_counter()
            focus = resolve_batch(batch) if batch else None
            report = analyse(events, policy, focus=focus)
        t_check = time.perf_counter()
        ledger = report.ledger
        batch_ids = [bid for bid, b in ledger.batches.items() if b.commissioned is not None]
        accounts = [a for a, o in ledger.orgs.items() if o.admitted is not None]
        rpc_before = client.seconds
        bviews = views.batch_states(client, deployment.address, batch_ids, to_block)
        oviews = views.organisations(client, deployment.address, accounts, to_block)
        t_views_rpc = client.seconds - rpc_before
        report.checks.append(check_state(ledger, bviews, oviews))
        t_views = time.perf_counter()
        if docs is not None:
            report.documents = match_documents(docs, ledger, report.scope)
        t_end = time.perf_counter()
        report.chain = ChainInfo(
            chain_id,
            deployment.address,
            deployment.deploy_block,
            deployment.deploy_block,
            to_block,
            head,
            confirmations,
            int(block["timestamp"], 16) if block.get("timestamp") else None,
        )
        report.fetch = stats
        report.timings = {
            "total": t_end - t0,
            "rpcLogs": rpc_fetch,
            "fetchOther": (t_fetch - t0) - rpc_fetch,
            "decode": t_decode - t_fetch,
            "check": t_check - t_decode,
            "views": t_views - t_check,
            "viewsRpc": t_views_rpc,
            "documents": t_end - t_views,
            "events": float(len(events)),
        }
        log.info(
            "audited %d events of %s up to block %d in %.2fs",
            len(events),
            deployment.address,
            to_block,
            t_end - t0,
        )
        return report
    finally:
        if own:
            client.close()
