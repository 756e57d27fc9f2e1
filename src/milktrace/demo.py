"""`milktrace demo`: from Normandy farms to a Shanghai shelf on a local chain, in one command.

The demo does what each party would do, through the same library and commands:

1. starts a local node (Anvil by default) whose chain is kept in `.milktrace/demo/`, or reuses
   the one a previous `--no-serve` run left running;
2. deploys the registry (or reuses it when it is already on that chain);
3. creates an encrypted keystore for each member of the cast (demo/data/cast.json), funds it
   from a dev account and admits it with its roles;
4. ingests demo/data/ file by file, each signed with its own party's key (demo/data/steps.json);
   ingest is exactly-once, so running the demo again sends nothing new;
5. prints the QR labels and a printable sheet, audits the chain into an HTML report, and
   serves the scan page until Ctrl-C, which stops the server and the node.

With `--no-serve` it leaves the node running and prints the manifest path (for scripts and
tests); `milktrace demo --stop` stops that node.

The keystores' password is generated once and kept in `.milktrace/demo/password` (mode 600,
git-ignored, never printed); the demo keys use a lighter scrypt cost than `milktrace keys new`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from web3 import Web3
from web3.types import TxParams

from milktrace import chain, keys, orgs, qr
from milktrace.audit import Policy, load_policy
from milktrace.errors import MilktraceError, NodeError
from milktrace.identifiers import path_id
from milktrace.node import Engine, LocalNode, free_port, rpc_call
from milktrace.paths import project_root

log = logging.getLogger(__name__)

DEMO_SCRYPT_N = 2**14
PASSWORD_ENV = "MILKTRACE_DEMO_PASSWORD"
FUNDING_WEI = 10 * 10**18


class DemoError(MilktraceError, RuntimeError):
    """A demo step failed; the message names the step."""


@dataclass
class DemoOptions:
    engine: Engine = "anvil"
    serve: bool = True
    port: int | None = None
    base_url: str | None = None
    workdir: Path | None = None
    data: Path | None = None
    fresh: bool = False


@dataclass
class DemoResult:
    rpc_url: str
    manifest: Path
    deployment: chain.Deployment
    page_url: str
    workdir: Path
    batches: list[dict[str, Any]] = field(default_factory=list)
    labels_dir: Path | None = None
    audit_report: Path | None = None
    audit_passed: bool | None = None
    seconds: float = 0.0


def default_workdir() -> Path:
    return Path(os.environ.get("MILKTRACE_DEMO_DIR") or project_root() / ".milktrace" / "demo")


def data_dir() -> Path:
    return project_root() / "demo" / "data"


# ------------------------------------------------------------------ the node


def _node_file(workdir: Path) -> Path:
    return workdir / "node.json"


def _state_path(workdir: Path, engine: str) -> Path:
    return workdir / ("anvil-state.json" if engine == "anvil" else "ganache-db")


def running_node(workdir: Path, engine: str | None = None) -> dict[str, Any] | None:
    """The node a previous `--no-serve` run left running, if it still answers."""
    path = _node_file(workdir)
    if not path.is_file():
        return None
    info = json.loads(path.read_text(encoding="utf-8"))
    if engine and info.get("engine") != engine:
        return None
    try:
        os.kill(int(info["pid"]), 0)
        rpc_call(info["url"], "eth_chainId", timeout=2)
    except (OSError, NodeError, KeyError, ValueError):
        path.unlink(missing_ok=True)
        return None
    return info


def stop_node(workdir: Path | None = None) -> bool:
    """Stop the node a `--no-serve` run left running (SIGTERM to its process group)."""
    workdir = workdir or default_workdir()
    info = running_node(workdir)
    if info is None:
        return False
    pgid = int(info["pid"])
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:  # reap it when this process started it (a zombie still counts as in the group)
            os.waitpid(pgid, os.WNOHANG)
        except ChildProcessError:
            pass
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(pgid, signal.SIGKILL)
    _node_file(workdir).unlink(missing_ok=True)
    return True


# ------------------------------------------------------------------ the cast


def _password(workdir: Path) -> str:
    path = workdir / "password"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        fp.write(value + "\n")
    return value


def _keystore(keys_dir: Path, name: str, password: str) -> keys.KeyInfo:
    path = keys_dir / f"{name}.json"
    if path.exists():
        return keys.info(path)
    return keys.new_key(name, password, keys_dir, scrypt_n=DEMO_SCRYPT_N)


def _fund(w3: Web3, funder: str, account: str) -> None:
    to = Web3.to_checksum_address(account)
    if w3.eth.get_balance(to) >= FUNDING_WEI // 10:
        return
    params = cast(TxParams, {"from": funder, "to": to, "value": FUNDING_WEI,
                             **chain.fee_fields(w3)})
    tx = w3.eth.send_transaction(params)
    w3.eth.wait_for_transaction_receipt(tx)


# ------------------------------------------------------------------ the run


def run_demo(opts: DemoOptions, say: Callable[[str], None] = print) -> DemoResult:
    """Set up the demo; return where everything is. Serving is left to `serve_forever`."""
    t0 = time.monotonic()
    workdir = opts.workdir or default_workdir()
    data = opts.data or data_dir()
    if opts.fresh:
        stop_node(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    cast = json.loads((data / "cast.json").read_text(encoding="utf-8"))
    steps = json.loads((data / "steps.json").read_text(encoding="utf-8"))

    # 1. the node
    info = running_node(workdir, opts.engine)
    started_here = info is None
    if info is None:
        stop_node(workdir)  # a node of the other engine
        node = LocalNode(opts.engine, state=_state_path(workdir, opts.engine),
                         log_file=workdir / "node.log")
        node.start()
        assert node.process is not None
        info = {"engine": opts.engine, "url": node.url, "pid": node.process.pid,
                "chainId": node.chain_id}
        _node_file(workdir).write_text(json.dumps(info) + "\n", encoding="utf-8")
        say(f"started {opts.engine} at {node.url} (chain {node.chain_id}; state in "
            f"{_state_path(workdir, opts.engine)})")
    else:
        say(f"reusing the {info['engine']} node at {info['url']}")
    try:
        return _set_up(opts, workdir, data, cast, steps, info, t0, say)
    except BaseException:
        if started_here:  # leave nothing half set up running behind a failure
            stop_node(workdir)
            say(f"stopped the {opts.engine} node this run started")
        raise


def _set_up(opts: DemoOptions, workdir: Path, data: Path, cast: list[dict[str, Any]],
            steps: list[dict[str, str]], info: dict[str, Any], t0: float,
            say: Callable[[str], None]) -> DemoResult:
    """Steps 2-5 on the running node `info`."""
    url = info["url"]
    w3 = chain.connect(url)
    admin = w3.eth.accounts[0]

    # 2. the registry
    manifest = chain.manifest_path(w3.eth.chain_id)
    dep = None
    if manifest.is_file():
        try:
            dep = chain.load_deployment(w3, manifest)
            say(f"registry already deployed at {dep.address} ({manifest})")
        except MilktraceError:
            dep = None  # a manifest of another chain with the same id
    if dep is None:
        result = chain.deploy(w3, admin, rpc_url=url, manifest=manifest, force=True)
        dep = result.deployment
        say(f"deployed the registry at {dep.address} (block {dep.deploy_block}) -> {manifest}")
    chain.write_page_config(dep, url)

    # 3. the cast: keystores, funds, admission
    password = _password(workdir)
    keys_dir = workdir / "keystores"
    accounts: dict[str, str] = {}
    for member in cast:
        key = _keystore(keys_dir, member["key"], password)
        accounts[member["key"]] = key.address
        _fund(w3, admin, key.address)
        change = orgs.admit(w3, dep, admin, key.address, name=member["name"], gln=member["gln"],
                            country=member["country"], roles=orgs.parse_roles(member["roles"]))
        if change.action != "unchanged":
            say(f"  {change.action:<9} {member['name']} ({member['gln']}, {member['country']}) "
                f"as {', '.join(member['roles'])}")
    say(f"{len(cast)} organisations admitted; keystores in {keys_dir}")

    # 4. each party ingests its own export, signed with its own key
    from milktrace.cli import main as cli_main

    os.environ[PASSWORD_ENV] = password
    for step in steps:
        member = next(m for m in cast if m["key"] == step["key"])
        say(f"\n[{member['name']}] milktrace ingest {step['file']}")
        code = cli_main(["ingest", str(data / step["file"]), "--rpc", url,
                         "--deployment", str(manifest), "--key", step["key"],
                         "--keys-dir", str(keys_dir), "--password-env", PASSWORD_ENV,
                         "--journal", str(workdir / "journal")])
        if code != 0:
            raise DemoError(f"ingest of {step['file']} by {member['name']} failed (exit {code})")

    # 5. page config, labels, audit
    products = data / "products.json"
    page_dir = project_root() / "frontend" / "config"
    shutil.copyfile(products, page_dir / "products.json")
    port = opts.port or free_port()
    page_url = f"http://127.0.0.1:{port}"
    result_ = DemoResult(rpc_url=url, manifest=manifest, deployment=dep, page_url=page_url,
                         workdir=workdir)
    # the finished product is the one the demo's release policy covers (the infant milk)
    policy = load_policy(data / "audit-policy.yaml")
    labels = qr.labels_from_chain(w3, dep, qr.load_products(products), lang="zh-CN")
    result_.batches = _demo_batches(w3, dep, labels, policy.release.gtins)
    finished = [lab for lab in labels if lab.gtin in policy.release.gtins]
    result_.labels_dir = _labels(finished, workdir, opts.base_url or page_url, say)
    result_.audit_report, result_.audit_passed = _audit(url, dep, data, policy, workdir, say)
    result_.seconds = time.monotonic() - t0
    _print_pages(result_, say)
    return result_


def _demo_batches(w3: Web3, dep: chain.Deployment, labels: list[qr.Label],
                  finished: frozenset[str]) -> list[dict[str, Any]]:
    """The finished batches and every recalled batch, with their status now."""
    from milktrace.types import Status

    ids = [path_id(lab.path) for lab in labels]
    statuses = chain.registry(w3, dep).functions.statusesOf(ids).call() if ids else []
    out = []
    for lab, raw in zip(labels, statuses, strict=True):
        status = Status(raw)
        if lab.gtin in finished or status == Status.RECALLED:
            out.append({"gtin": lab.gtin, "lot": lab.lot, "path": lab.path,
                        "status": status.name.lower(), "name": lab.name or ""})
    return out


def _labels(labels: list[qr.Label], workdir: Path, base_url: str,
            say: Callable[[str], None]) -> Path:
    out = workdir / "labels"
    # the local page is plain http; say so once, not once per label
    qr_log = logging.getLogger("milktrace.qr")
    level = qr_log.level
    qr_log.setLevel(logging.ERROR)
    try:
        qr.write_labels(labels, out, base_url=base_url, with_expiry=True)
    finally:
        qr_log.setLevel(level)
    if base_url.startswith("http://"):
        say("(labels point at the local page over http; pass --base-url https://... for print)")
    say(f"\nQR labels (PNG, SVG) and a printable sheet: {out / 'labels.html'}")
    return out


def _audit(url: str, dep: chain.Deployment, data: Path, policy: Policy, workdir: Path,
           say: Callable[[str], None]) -> tuple[Path, bool]:
    from milktrace.audit import run_audit
    from milktrace.audit.html import render_html

    report = run_audit(url, dep, policy=policy, docs=data / "lab" / "reports")
    path = workdir / "audit.html"
    path.write_text(render_html(report), encoding="utf-8")
    say(f"audit: {'every check passed' if report.passed else 'checks FAILED'} -> {path}")
    return path, bool(report.passed)


def _print_pages(result: DemoResult, say: Callable[[str], None]) -> None:
    say(f"\nset up in {result.seconds:.1f}s. The scan page of each demo batch:")
    for b in result.batches:
        say(f"  {result.page_url}{b['path']}   {b['status']:<11} {b['name']}")
    first = next((b for b in result.batches if b["status"] != "recalled"), None)
    if first is not None:
        import io

        import qrcode

        code = qrcode.QRCode(border=2)
        code.add_data(result.page_url + first["path"])
        buf = io.StringIO()
        code.print_ascii(out=buf, invert=True)
        say(f"\nScan it ({first['lot']}):\n{buf.getvalue()}")


def serve_forever(result: DemoResult, data: Path | None = None,
                  say: Callable[[str], None] = print) -> None:
    """Serve the page until Ctrl-C or SIGTERM; then stop the server and the node."""
    from milktrace.serve import PageSite, serve_in_thread

    data = data or data_dir()
    port = int(result.page_url.rsplit(":", 1)[1])
    site = PageSite(products=data / "products.json")
    server = serve_in_thread(site, port=port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    say(f"\nserving the scan page at {result.page_url} — Ctrl-C stops the page and the node")
    try:
        while not stop.wait(0.5):  # a timed wait lets the signal handlers run
            pass
    finally:
        server.shutdown()
        server.server_close()
        stop_node(result.workdir)
        say("stopped the page and the node")
