"""`milktrace audit` on a real local node: a clean data set passes every check; each check
that can fail on the deployed registry is made to fail by a data set built to break it, and
the report names the exact event; paging through a capped proxy gives the same report.

Custody, roles, genealogy and expiry-before-production cannot be broken through the
registry (it refuses those transactions): they are tested on crafted streams in
tests/unit/test_audit_checks.py. Here the roles check is shown to judge "at that block" to
the log: a lab's result written in the same block as, and before, its revocation passes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from audit_data import (
    Clean,
    Trace,
    Written,
    break_dates,
    break_duplicates,
    break_recall_forward,
    break_recall_lab,
    break_release,
    clean,
    tamper_state,
)
from capping_proxy import CappingProxy

from milktrace.audit import run_audit
from milktrace.audit.report import report_dict
from milktrace.chain import connect
from milktrace.cli import main
from milktrace.node import LocalNode
from milktrace.records import pack
from milktrace.types import QualityResult

# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def anvil() -> Iterator[LocalNode]:
    with LocalNode("anvil", accounts=12) as node:
        yield node


@pytest.fixture(scope="module")
def w3(anvil):
    return connect(anvil.url)


@pytest.fixture
def trace(anvil, w3) -> Trace:
    """A fresh registry on the module's node (each test audits only its own registry)."""
    return Trace(w3, anvil.dev_accounts())


@pytest.fixture(scope="module")
def clean_set(anvil, w3) -> tuple[Trace, Clean]:
    t = Trace(w3, anvil.dev_accounts())
    return t, clean(t)


@pytest.fixture
def audit(anvil, tmp_path) -> Callable[..., tuple[int, Any]]:
    """Run `milktrace audit` in-process; returns (exit status, parsed report)."""

    def run(t: Trace, *args: str, fmt: str = "json", rpc: str | None = None) -> tuple[int, Any]:
        manifest = t.dep.save(tmp_path / "deployment.json")
        out = tmp_path / f"report.{fmt}"
        status = main(
            [
                "audit",
                "--rpc",
                rpc or anvil.url,
                "--deployment",
                str(manifest),
                "--format",
                fmt,
                "--out",
                str(out),
                *args,
            ]
        )
        text = out.read_text(encoding="utf-8") if out.exists() else ""
        if fmt == "json" and text:
            return status, json.loads(text)
        return status, text

    return run


def violations(report: dict, check: str) -> list[dict]:
    (c,) = [c for c in report["checks"] if c["name"] == check]
    return c["violations"]


def failed_checks(report: dict) -> list[str]:
    return [c["name"] for c in report["checks"] if not c["passed"]]


def assert_names(v: dict, w: Written) -> None:
    """The reported violation is exactly the record `w` (batch, event id, kind, tx, block)."""
    assert v["batch"] == "0x" + w.batch_id.hex()
    assert v["event"]["id"] == "0x" + w.event_id.hex()
    assert v["event"]["kind"] == w.kind
    assert v["event"]["tx"] == w.tx
    assert v["event"]["block"] == w.block
    assert v["event"]["logIndex"] == w.log_index


# ---------------------------------------------------------------------- clean


def test_clean_data_set_passes_every_check(clean_set, audit):
    t, c = clean_set
    status, report = audit(t)
    assert status == 0
    assert report["passed"] is True
    assert failed_checks(report) == []
    assert [x["name"] for x in report["checks"]] == [
        "custody",
        "roles",
        "genealogy",
        "recall",
        "dates",
        "duplicates",
        "release",
        "state",
    ]
    assert report["summary"]["batches"] == 4 and report["summary"]["organisations"] == 9
    assert len(report["batches"]) == 4
    # records written + 9 admissions, 10 grants (the importer has two roles), the admin's own
    # grant, one revocation and 3 BatchDerived (lot A has two inputs, lot B one)
    assert report["summary"]["events"] == len(t.written) + 9 + 10 + 1 + 1 + 3


def test_a_record_just_before_its_revocation_in_the_same_block_passes(clean_set, audit):
    t, c = clean_set
    _, report = audit(t)
    (old_lab,) = [o for o in report["organisations"] if o["account"] == t.a("old_lab")]
    revoked = [h for h in old_lab["roleHistory"] if h["change"] == "revoked"]
    assert [(h["role"], h["block"]) for h in revoked] == [("LAB", c.late_result.block)]
    assert revoked[0]["logIndex"] > c.late_result.log_index
    assert old_lab["roles"] == [] and old_lab["records"] == 1
    assert violations(report, "roles") == []


def test_recall_impact_forward_and_backward(clean_set, audit):
    t, c = clean_set
    _, report = audit(t, "--batch", "/01/03760123401005/10/SAU-250301")
    assert report["passed"] is True
    (impact,) = report["recallImpact"]
    forward = {f["batchPath"]: f for f in impact["forward"]}
    assert set(forward) == {"/01/03760123402002/10/IF250302A", "/01/03760123402002/10/IF250303B"}
    assert forward["/01/03760123402002/10/IF250302A"]["holder"] == t.a("retailer")
    assert forward["/01/03760123402002/10/IF250303B"]["status"] == "RECALLED"
    assert forward["/01/03760123402002/10/IF250303B"]["holder"] == t.a("plant")
    assert impact["backward"] == []  # a raw collection

    _, report = audit(t, "--batch", "0x" + c.formula_b.hex())
    (impact,) = report["recallImpact"]
    assert impact["status"] == "RECALLED" and impact["recall"]["reason"] == "CRONOBACTER"
    assert impact["recall"]["tx"] == c.recall.tx
    assert [(b["batchPath"], b["producer"], b["rawCollection"]) for b in impact["backward"]] == [
        ("/01/03760123401005/10/SAU-250301", t.a("farm_b"), True)
    ]
    assert {b["path"] for b in report["batches"]} == {
        "/01/03760123402002/10/IF250303B",
        "/01/03760123401005/10/SAU-250301",
    }


def test_documents_are_matched_by_sha256(clean_set, audit, tmp_path):
    t, _ = clean_set
    docs = tmp_path / "docs"
    (docs / "lab").mkdir(parents=True)
    files = sorted(t.docs)
    kept, dropped = files[:-2], files[-2:]
    for name in kept:
        (docs / "lab" / name).write_bytes(t.docs[name])
    (docs / "invoice.pdf").write_bytes(b"%PDF-1.7 an invoice, never on chain")
    status, report = audit(t, "--docs", str(docs))
    assert status == 0  # documents are reported, not a check
    d = report["documents"]
    assert sorted(m["file"] for m in d["matched"]) == sorted(f"lab/{n}" for n in kept)
    assert [m["file"] for m in d["notOnChain"]] == ["invoice.pdf"]
    assert len(d["missing"]) == 2
    import hashlib

    assert {m["sha256"] for m in d["missing"]} == {
        hashlib.sha256(t.docs[n]).hexdigest() for n in dropped
    }
    assert all(m["records"] for m in d["matched"])


def test_confirmations_ignore_the_newest_blocks(clean_set, audit, w3):
    t, _ = clean_set
    head = w3.eth.block_number
    last_record = t.written[-1].block
    status, report = audit(t, "--confirmations", str(head - last_record + 1))
    assert status == 0
    assert report["chain"]["toBlock"] == last_record - 1
    assert report["summary"]["events"] < audit(t)[1]["summary"]["events"]


def test_csv_has_one_row_per_event(clean_set, audit):
    t, _ = clean_set
    _, report = audit(t)
    status, text = audit(t, fmt="csv")
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == report["summary"]["events"]
    assert rows[0]["kind"] == "RoleGranted"
    accepted = [r for r in rows if r["kind"] == "CustodyAccepted"]
    assert accepted and all(
        r["batchPath"] and r["actorName"] and r["counterparty"] for r in accepted
    )
    assert all(r["violations"] == "" for r in rows)


def test_ganache_gives_the_same_verdicts():
    """Ganache (shanghai, its own eth_getLogs and historical eth_call): the clean data set
    passes, and a lot shipped before its melamine result fails the release check."""
    with LocalNode("ganache", accounts=12) as node:
        w3 = connect(node.url)
        good = Trace(w3, node.dev_accounts())
        clean(good)
        assert run_audit(node.url, good.dep).passed
        bad = Trace(w3, node.dev_accounts())
        shipped = break_release(bad)
        report = report_dict(run_audit(node.url, bad.dep))
        assert failed_checks(report) == ["release"]
        assert_names(violations(report, "release")[0], shipped)


# ---------------------------------------------------------------------- broken data sets


@pytest.mark.parametrize(
    "builder,check",
    [
        (break_release, "release"),
        (break_recall_lab, "recall"),
        (break_duplicates, "duplicates"),
    ],
    ids=["shipped-before-melamine", "lab-record-after-recall", "duplicate-event-id"],
)
def test_each_data_set_built_to_break_a_check_fails_it_naming_the_event(
    trace, audit, builder, check
):
    bad = builder(trace)
    status, report = audit(trace)
    assert status == 1
    assert failed_checks(report) == [check]
    (v,) = violations(report, check)
    assert_names(v, bad)


def test_shipping_before_the_melamine_result_says_when_it_came(trace, audit):
    shipped = break_release(trace)
    _, report = audit(trace)
    (v,) = violations(report, "release")
    melamine = trace.written[-1]
    assert "no MELAMINE result" in v["message"]
    assert f"MELAMINE passed later at block {melamine.block}" in v["message"]
    assert v["event"]["actor"] == trace.a("plant") and shipped.kind == "CustodyHandedOver"


def test_custody_moving_on_after_a_recall_fails(trace, audit):
    offer, take = break_recall_forward(trace)
    status, report = audit(trace)
    assert status == 1 and failed_checks(report) == ["recall"]
    v_offer, v_take = violations(report, "recall")
    assert_names(v_offer, offer)
    assert_names(v_take, take)


def test_an_impossible_production_date_fails(trace, audit):
    batch = break_dates(trace)
    status, report = audit(trace)
    assert status == 1 and failed_checks(report) == ["dates"]
    (v,) = violations(report, "dates")
    w = trace.written[-1]
    assert v["batch"] == "0x" + batch.hex() and v["event"]["tx"] == w.tx
    assert "20250230 is not a calendar date" in v["message"]


def test_storage_that_disagrees_with_the_events_fails_the_state_check(trace, audit):
    c = clean(trace)
    before, after = tamper_state(trace, c.formula_a)
    status, report = audit(trace)
    assert status == 1 and failed_checks(report) == ["state"]
    (v,) = violations(report, "state")
    assert v["batch"] == "0x" + c.formula_a.hex()
    assert "events say" in v["message"] and "contract says" in v["message"]


def test_csv_marks_the_offending_row(trace, audit):
    bad = break_duplicates(trace)
    _, text = audit(trace, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    flagged = [r for r in rows if r["violations"]]
    assert [(r["tx"], r["violations"]) for r in flagged] == [(bad.tx, "duplicates")]


def test_unreachable_node_and_wrong_manifest_exit_2(trace, audit, tmp_path, capsys):
    clean(trace)
    status, _ = audit(trace, rpc="http://127.0.0.1:9")
    assert status == 2
    assert "cannot reach" in capsys.readouterr().err
    manifest = tmp_path / "other.json"
    other = type(trace.dep)(
        trace.dep.chain_id,
        "0x" + "42" * 20,
        trace.dep.deploy_block,
        trace.dep.deploy_tx,
        trace.dep.abi,
    )
    other.save(manifest)
    status = main(["audit", "--rpc", trace.w3.provider.endpoint_uri, "--deployment", str(manifest)])
    assert status == 2
    assert "no contract code" in capsys.readouterr().err


# ------------------------------------------------------------- paging through a capped proxy


@pytest.fixture(scope="module")
def busy_set(anvil, w3) -> tuple[Trace, Clean]:
    """The clean data set plus 1,800 lab results in 3 packed `submit` transactions."""
    t = Trace(w3, anvil.dev_accounts())
    c = clean(t)
    for tx in range(3):
        records = [
            QualityResult(
                c.formula_a,
                (tx * 1000 + i).to_bytes(32, "big"),
                "AFLATOXIN_M1",
                True,
                10_000 + i,
                "UGKG",
                i.to_bytes(32, "big"),
                1_741_500_000 + i,
            )
            for i in range(600)
        ]
        t.send(t.contract.functions.submit(pack(records)), t.a("lab"))
    return t, c


@pytest.mark.parametrize("mode,cap", [("blocks", 10), ("results", 1000)])
def test_paging_through_a_capped_provider_gives_the_same_report(busy_set, anvil, mode, cap):
    t, _ = busy_set
    plain = run_audit(anvil.url, t.dep)
    assert plain.fetch.refusals == 0
    with CappingProxy(anvil.url, mode, cap) as proxy:
        capped = run_audit(proxy.url, t.dep, initial_span=100_000)
    assert proxy.refusals > 0 and capped.fetch.refusals == proxy.refusals
    assert capped.fetch.pages > plain.fetch.pages
    a, b = report_dict(plain), report_dict(capped)
    a.pop("fetch"), b.pop("fetch")
    assert a == b
    assert a["passed"] is True and a["summary"]["events"] > 1800


def test_an_undecodable_log_stops_the_audit(clean_set, anvil, audit, capsys):
    t, _ = clean_set
    with CappingProxy(anvil.url, "corrupt", 0) as proxy:
        status, _ = audit(t, rpc=proxy.url)
    assert status == 2
    err = capsys.readouterr().err
    assert "undecodable" in err and "data bytes" in err and "log index" in err


def test_html_report_is_written(clean_set, audit):
    t, _ = clean_set
    status, text = audit(t, fmt="html")
    assert status == 0
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text
    assert "src=" not in text and "href=" not in text  # self-contained: loads nothing


def test_format_follows_the_output_extension(clean_set, anvil, tmp_path):
    t, _ = clean_set
    manifest = t.dep.save(tmp_path / "d.json")
    out = tmp_path / "r.csv"
    assert (
        main(["audit", "--rpc", anvil.url, "--deployment", str(manifest), "--out", str(out)]) == 0
    )
    assert out.read_text().startswith("block,logIndex,tx,kind")
