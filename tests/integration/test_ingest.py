"""`milktrace ingest` of a realistic multi-party data set on both engines: every party sends
its own export (CSV or EPCIS 2.0) with its own key; the chain is read back record by record;
running everything again sends nothing."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
from integration_support import PASSWORD

from milktrace import keys, orgs
from milktrace.chain import Rpc
from milktrace.cli import main as cli_main
from milktrace.demo import data_dir
from milktrace.events import RecordEvent, decode_logs
from milktrace.ingest import KIND_EVENT, RegistryView
from milktrace.node import ENGINES
from milktrace.plan import plan_files

pytestmark = pytest.mark.parametrize("node", ENGINES, indirect=True)


@dataclasses.dataclass
class Cast:
    data: Path
    steps: list[dict]
    members: dict[str, dict]
    keys_dir: Path


@pytest.fixture(scope="module")
def cast(chain, tmp_path_factory) -> Cast:
    """The demo's twelve organisations: keystores, funds, admission with their roles."""
    data = data_dir()
    members = {m["key"]: m for m in json.loads((data / "cast.json").read_text("utf-8"))}
    steps = json.loads((data / "steps.json").read_text("utf-8"))
    keys_dir = tmp_path_factory.mktemp("cast-keys")
    w3 = chain.w3
    for key, m in members.items():
        info = keys.new_key(key, PASSWORD, keys_dir, scrypt_n=2**12)
        m["address"] = info.address
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(
            {"from": chain.admin, "to": info.address, "value": 10**21, "gasPrice": 3 * 10**9}))
        orgs.admit(w3, chain.dep, chain.admin, info.address, name=m["name"], gln=m["gln"],
                   country=m["country"], roles=orgs.parse_roles(m["roles"]))
    return Cast(data, steps, members, keys_dir)


def _ingest(chain, cast, step, capsys, monkeypatch, *extra: str) -> tuple[int, str, str]:
    monkeypatch.setenv("MILKTRACE_KEY_PASSWORD", PASSWORD)
    code = cli_main(["ingest", str(cast.data / step["file"]), "--rpc", chain.rpc,
                     "--deployment", str(chain.manifest), "--key", step["key"], "--keys-dir",
                     str(cast.keys_dir), "--journal", str(chain.journal_dir), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def first_run(chain, cast) -> list[dict]:
    """Every step once, in order, through the real command; the JSON summaries."""
    summaries = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MILKTRACE_KEY_PASSWORD", PASSWORD)
        for step in cast.steps:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                code = cli_main(["ingest", str(cast.data / step["file"]), "--rpc", chain.rpc,
                                 "--deployment", str(chain.manifest), "--key", step["key"],
                                 "--keys-dir", str(cast.keys_dir), "--journal",
                                 str(chain.journal_dir), "--json"])
            assert code == 0, buf.getvalue()
            summaries.append(json.loads(buf.getvalue()))
    return summaries


def _expected(chain, cast) -> list[tuple[dict, object]]:
    """(step, planned record) for every step, planned again against the chain."""
    view = RegistryView(Rpc(chain.rpc), chain.dep)
    out = []
    for step in cast.steps:
        signer = view.organisation_of(cast.members[step["key"]]["address"])
        for p in plan_files([cast.data / step["file"]], signer, view):
            out.append((step, p))
    return out


def _on_chain(chain) -> dict[tuple[str, bytes, bytes], list[RecordEvent]]:
    rpc = Rpc(chain.rpc)
    raw = rpc.call("eth_getLogs", [{"address": chain.dep.address,
                                    "fromBlock": hex(chain.dep.deploy_block),
                                    "toBlock": "latest"}])
    found: dict[tuple[str, bytes, bytes], list[RecordEvent]] = defaultdict(list)
    for ev in decode_logs(raw, chain.dep.address):
        if isinstance(ev, RecordEvent):
            found[(ev.kind, ev.batch_id, ev.event_id)].append(ev)
    return found


def test_each_party_ingest_reports_what_it_sent(first_run, cast):
    total = 0
    for step, s in zip(cast.steps, first_run, strict=True):
        planned = len(plan_files([cast.data / step["file"]]))
        assert s["events"] == s["planned"] > 0, step
        assert s["skipped"] == 0 and s["verified"] is True
        assert s["transactions"] >= 1 and s["gas"] > 0
        assert s["firstBlock"] <= s["lastBlock"]
        assert s["signer"] == cast.members[step["key"]]["address"]
        assert s["planned"] <= planned  # the same event stated twice is planned once
        total += s["events"]
    assert total > 50


def test_the_chain_holds_every_record_once_as_planned(first_run, chain, cast):
    expected = _expected(chain, cast)
    found = _on_chain(chain)
    assert sum(len(v) for v in found.values()) == len(expected)  # nothing else on chain
    for step, p in expected:
        rec = p.record
        events = found[(KIND_EVENT[rec.kind], rec.batch_id, rec.event_id)]
        where = f"{step['file']}: {p.source.where}"
        assert len(events) == 1, where
        ev = events[0]
        assert ev.actor == cast.members[step["key"]]["address"], where
        for f in dataclasses.fields(rec):
            if f.name in ("kind", "batch_id", "event_id"):
                continue
            want = getattr(rec, f.name)
            got = getattr(ev, f.name)
            assert got == want, f"{where}: {f.name}: chain {got!r}, file {want!r}"


def test_running_every_ingest_again_sends_nothing_and_says_so(first_run, chain, cast, capsys,
                                                               monkeypatch):
    nonces = {k: chain.w3.eth.get_transaction_count(m["address"])
              for k, m in cast.members.items()}
    head = chain.w3.eth.block_number
    for step, before in zip(cast.steps, first_run, strict=True):
        code, out, err = _ingest(chain, cast, step, capsys, monkeypatch)
        assert code == 0, err
        assert f"nothing to send: all {before['planned']} records are already on chain" in out
    for step, before in zip(cast.steps[:2], first_run[:2], strict=True):
        code, out, _ = _ingest(chain, cast, step, capsys, monkeypatch, "--json")
        again = json.loads(out)
        assert again["events"] == 0 and again["transactions"] == 0
        assert again["skipped"] == before["planned"]
    assert chain.w3.eth.block_number == head
    assert nonces == {k: chain.w3.eth.get_transaction_count(m["address"])
                      for k, m in cast.members.items()}
