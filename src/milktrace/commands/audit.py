"""`milktrace audit`: rebuild every history from the registry's events and check it.

Exit status: 0 when every check passes, 1 when any check fails, 2 when the audit could not
run (node unreachable, manifest wrong, a log that does not decode: the audit is strict).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from milktrace import chain
from milktrace.audit import load_policy, run_audit
from milktrace.chain import Deployment
from milktrace.commands.deploy import add_chain_options
from milktrace.errors import MilktraceError
from milktrace.logs import RpcClient

FORMATS = ("json", "csv", "html")
EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="rebuild every history from events, check it, follow recalls",
        description="Reads every registry event from the deployment block on, rebuilds batch "
        "histories, genealogy and role history, runs the checks and writes a report. "
        "Exit status: 0 all checks passed, 1 a check failed, 2 the audit could not run.",
    )
    add_chain_options(p)
    p.add_argument(
        "--batch",
        metavar="DL-PATH|ID",
        help="report on one batch and its lineage (a Digital Link path or URL, or a "
        "0x batch id); recall impact is shown for it",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="json (default), csv (one row per event) or html (self-contained report); "
        "default from --out's extension",
    )
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="write the report here (default: stdout)"
    )
    p.add_argument(
        "--docs",
        type=Path,
        metavar="DIR",
        help="match the files in DIR (sha-256) against on-chain report and notice hashes",
    )
    p.add_argument(
        "--confirmations",
        type=int,
        default=0,
        metavar="N",
        help="ignore the last N blocks (they may still reorganise)",
    )
    p.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="audit policy, JSON or YAML (default: the infant-milk release policy)",
    )
    p.set_defaults(func=run)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if args.out is not None and args.out.suffix.lower().lstrip(".") in FORMATS:
        return args.out.suffix.lower().lstrip(".")
    if args.out is not None and args.out.suffix.lower() == ".htm":
        return "html"
    return "json"


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except MilktraceError as exc:
        print(f"milktrace audit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from milktrace.audit.html import render_html
    from milktrace.audit.report import render_csv, render_json

    if args.confirmations < 0:
        print("milktrace audit: error: --confirmations must be 0 or more", file=sys.stderr)
        return EXIT_ERROR
    policy = load_policy(args.policy)
    url = chain.default_rpc(args.rpc)
    with RpcClient(url) as client:
        try:
            chain_id = client.chain_id()
        except MilktraceError as exc:
            raise MilktraceError(f"cannot reach a node at {url}: {exc}") from exc
        dep = Deployment.load(args.deployment or chain.manifest_path(chain_id))
        report = run_audit(
            url,
            dep,
            confirmations=args.confirmations,
            policy=policy,
            batch=args.batch,
            docs=args.docs,
            client=client,
        )
    fmt = _format(args)
    text = {"json": render_json, "csv": render_csv, "html": render_html}[fmt](report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    violations = report.violations
    failed = [c.name for c, vs in report.results if vs]
    chain_info = report.chain
    where = f"blocks {chain_info.from_block}-{chain_info.to_block}" if chain_info else ""
    verdict = "PASSED" if not violations else f"FAILED ({', '.join(failed)})"
    print(
        f"milktrace audit: {verdict}: {len(report.ledger.events)} events, "
        f"{len(violations)} violation(s), {where}"
        + (f"; report in {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return EXIT_PASSED if not violations else EXIT_FAILED
