"""`milktrace ingest FILE...`: validate EPCIS 2.0 / CSV files whole, then send their records
exactly once, signed with the organisation's own key.

Exit status: 0 when every record is on chain (sent now or already there), 1 on a validation
problem (nothing sent), a missing role (nothing sent), or a transaction or node failure
(what landed stays; run again to resume).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from milktrace import chain, ingest
from milktrace.commands.deploy import add_chain_options
from milktrace.commands.keys import add_key_options, signer_from_args
from milktrace.errors import MilktraceError, NodeError, RpcError, ValidationError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="validate EPCIS/CSV files and send their records, "
                                      "exactly once")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE",
                   help="EPCIS 2.0 JSON-LD documents and/or milktrace CSV files")
    add_chain_options(p)
    add_key_options(p, help="the signing organisation's keystore (a file, or a key name in "
                            "--keys-dir); needed to send, optional with --dry-run")
    p.add_argument("--dry-run", action="store_true",
                   help="validate and print the plan (records, transactions, gas); send nothing")
    p.add_argument("--json", action="store_true", help="print the summary (or plan) as JSON")
    p.add_argument("--batch-size", type=int, default=ingest.Options.batch_size, metavar="N",
                   help="records per transaction (default %(default)s; fewer if gas demands)")
    p.add_argument("--window", type=int, default=ingest.Options.window, metavar="N",
                   help="transactions in flight at once (default %(default)s)")
    p.add_argument("--confirmations", type=int, metavar="N",
                   help="blocks to wait after the last transaction (default: 0 on a local "
                        "chain, 2 elsewhere)")
    p.add_argument("--journal", type=Path, metavar="DIR",
                   help="journal folder (default: $MILKTRACE_JOURNAL_DIR or .milktrace/journal)")
    p.add_argument("--retry-for", type=float, default=60.0, metavar="S",
                   help="keep retrying an unreachable node for S seconds (default %(default)s)")
    p.set_defaults(func=run)


def _plan(paths: list[Path], signer: Any, view: Any) -> list[Any]:
    from milktrace.plan import plan_files

    return plan_files(paths, signer, view)


def _fail(args: argparse.Namespace, exc: MilktraceError) -> int:
    if args.json:
        out: dict[str, Any] = {"error": str(exc).splitlines()[0], "sent": False}
        if isinstance(exc, ValidationError):
            out["problems"] = [p.as_dict() for p in exc.problems]
        print(json.dumps(out, ensure_ascii=False, indent=1))
        print(f"milktrace ingest: error: {exc}", file=sys.stderr)
        return 1
    raise exc


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1 or args.window < 1:
        print("milktrace ingest: --batch-size and --window must be at least 1", file=sys.stderr)
        return 2
    options = ingest.Options(batch_size=args.batch_size, window=args.window,
                             confirmations=args.confirmations, journal=args.journal)
    try:
        if args.dry_run:
            return _dry_run(args, options)
        return _ingest(args, options)
    except MilktraceError as exc:
        return _fail(args, exc)


def _connect(args: argparse.Namespace) -> tuple[chain.Rpc, chain.Deployment]:
    url = chain.default_rpc(args.rpc)
    w3 = chain.connect(url)
    dep = chain.load_deployment(w3, args.deployment)
    return chain.Rpc(url, retry_for=args.retry_for), dep


def _ingest(args: argparse.Namespace, options: ingest.Options) -> int:
    if not args.key:
        raise ingest.IngestError("ingest signs with the organisation's own key: pass --key "
                                 "KEYSTORE (see `milktrace keys list`)")
    rpc, dep = _connect(args)
    account = signer_from_args(args)
    assert account is not None
    view = ingest.RegistryView(rpc, dep)
    signer = view.organisation_of(account.address)
    if signer is None:
        raise ingest.IngestError(
            f"key {account.address} is not an admitted organisation of registry {dep.address}"
            f" on chain {dep.chain_id}: ask the consortium admin to run `milktrace org add "
            f"{account.address} --role ROLE ...`; nothing was sent")
    t0 = time.monotonic()
    planned = ingest.plan_with_chain(list(args.files), signer, view)
    records = [p.record for p in planned]
    sources = [f"{p.source.file}: {p.source.where}" for p in planned]
    with _progress(args) as progress:
        try:
            summary = ingest.ingest(records, sources, rpc, dep, account, options, progress,
                                    view)
        except RpcError as exc:
            raise ingest.IngestError(f"{exc}; what was signed is in the journal and what "
                                     "landed stays: run the ingest again to resume") from None
    summary.seconds = time.monotonic() - t0  # parse and validate included
    _print_summary(args, summary)
    return 0


def _print_summary(args: argparse.Namespace, s: ingest.Summary) -> None:
    if args.json:
        print(json.dumps(s.as_dict()))
        return
    if s.events == 0:
        print(f"nothing to send: all {s.planned} records are already on chain "
              f"(registry {s.registry}, chain {s.chain_id})")
        return
    rate = s.events / s.seconds if s.seconds else 0.0
    blocks = f"blocks {s.first_block}-{s.last_block}" if s.first_block is not None else ""
    print(f"sent {s.events} records in {s.transactions} transactions ({blocks}), "
          f"{s.gas:,} gas ({s.gas // max(1, s.events):,} per record), "
          f"{s.seconds:.1f}s ({rate:,.0f} records/s)")
    if s.skipped:
        print(f"skipped {s.skipped} records already on chain")
    if s.recovered:
        print(f"settled {s.recovered} transactions left by an earlier run (journal)")
    print(f"verified: every one of the {s.planned} records is on chain once")


def _dry_run(args: argparse.Namespace, options: ingest.Options) -> int:
    rpc = dep = signer = view = None
    sender = None
    try:
        rpc, dep = _connect(args)
        view = ingest.RegistryView(rpc, dep)
    except NodeError as exc:
        if args.rpc or args.deployment:
            raise
        print(f"no node ({exc}); planning offline: no chain checks, gas from the model",
              file=sys.stderr)
    if args.key:
        from milktrace import keys

        sender = keys.info(keys.resolve(args.key, args.keys_dir)).address
        if view is not None:
            signer = view.organisation_of(sender)
    planned = _plan(list(args.files), signer, view)
    records = [p.record for p in planned]
    plan = ingest.dry_run(records, rpc, dep, sender, options)
    if args.json:
        print(json.dumps({"dryRun": True, **plan.as_dict()}))
        return 0
    print(f"{plan.planned} records from {len(args.files)} file(s):")
    for kind, n in sorted(plan.by_kind.items()):
        print(f"  {kind:<18} {n}")
    if plan.skipped is not None:
        print(f"already on chain: {plan.skipped}")
    print(f"transactions: {plan.transactions} (up to {plan.records_per_tx} records each)")
    print(f"estimated gas: {plan.gas:,} ({plan.as_dict()['gasPerRecord']:,} per record; "
          f"{plan.gas_method})")
    print("dry run: nothing was sent")
    return 0


class _progress:
    """A rich progress bar with records/s on a terminal; plain lines every 2 s otherwise
    (on stderr when --json keeps stdout for the summary)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.out = sys.stderr if args.json else sys.stdout
        self.tty = self.out.isatty()
        self.bar: Any = None
        self.task: Any = None
        self.t0 = time.monotonic()
        self.last = 0.0

    def __enter__(self) -> _progress:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]:>8} records/s"),
                                TextColumn("{task.fields[txs]} txs"), TimeElapsedColumn(),
                                console=Console(file=self.out), transient=False)
            self.bar.__enter__()
        return self

    def __call__(self, done: int, total: int, txs: int) -> None:
        now = time.monotonic()
        rate = f"{done / max(1e-9, now - self.t0):,.0f}"
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task("ingest", total=total, rate=rate, txs=txs)
            self.bar.update(self.task, completed=done, total=total, rate=rate, txs=txs)
        elif now - self.last >= 2.0 or done == total:
            self.last = now
            print(f"ingest: {done}/{total} records, {txs} transactions, {rate} records/s",
                  file=self.out, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
