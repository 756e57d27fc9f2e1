"""Audit reports from crafted streams: JSON for machines, CSV one row per event, HTML that
escapes on-chain text and loads nothing; documents matched by sha-256."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re

from test_audit_checks import LAB, LOT, PLANT, RAW, Stream, clean_stream

from milktrace.audit import analyse
from milktrace.audit.documents import match_documents
from milktrace.audit.html import render_html
from milktrace.audit.report import render_csv, render_json, report_dict
from milktrace.events import OrganisationAdmitted, QualityRecorded


def failing_stream() -> tuple[Stream, object]:
    s = clean_stream()
    bad = s.quality(LAB, LOT, "AFLATOXIN_M1")  # after the recall
    return s, bad


def test_json_report_has_verdict_checks_histories_and_recall_impact():
    report = json.loads(render_json(analyse(clean_stream().events)))
    assert report["milktraceAudit"] == 1 and report["passed"] is True
    assert [c["name"] for c in report["checks"]] == [
        "custody",
        "roles",
        "genealogy",
        "recall",
        "dates",
        "duplicates",
        "release",
    ]
    lot = next(b for b in report["batches"] if b["id"] == "0x" + LOT.hex())
    assert lot["status"] == "RECALLED" and lot["parents"] == ["0x" + RAW.hex()]
    assert [c["name"] for c in lot["custody"]] == ["plant", "carrier", "shop", "carrier", "plant"]
    assert lot["events"][0]["kind"] == "BatchCommissioned" and lot["events"][0]["gtin"]
    (impact,) = report["recallImpact"]
    assert impact["batch"] == "0x" + LOT.hex() and impact["forward"] == []
    assert impact["backward"][0]["rawCollection"] is True
    lab = next(o for o in report["organisations"] if o["account"] == LAB)
    assert lab["roles"] == ["LAB"] and lab["roleHistory"][0]["change"] == "granted"


def test_json_violation_names_the_event():
    s, bad = failing_stream()
    report = report_dict(analyse(s.events))
    assert report["passed"] is False and report["summary"]["checks"]["recall"] is False
    (v,) = next(c for c in report["checks"] if c["name"] == "recall")["violations"]
    assert v["event"] == {
        "id": "0x" + bad.event_id.hex(),
        "kind": "QualityRecorded",
        "tx": bad.tx,
        "block": bad.block,
        "logIndex": bad.log_index,
        "actor": LAB,
    }
    assert v["batch"] == "0x" + LOT.hex() and v["batchPath"] == "/01/03760123402002/10/IF1"


def test_csv_is_one_row_per_event_and_marks_violations():
    s, bad = failing_stream()
    rows = list(csv.DictReader(io.StringIO(render_csv(analyse(s.events)))))
    assert len(rows) == len(s.events)
    flagged = [r for r in rows if r["violations"]]
    assert [(int(r["block"]), r["kind"], r["violations"]) for r in flagged] == [
        (bad.block, "QualityRecorded", "recall")
    ]
    hand = next(r for r in rows if r["kind"] == "CustodyHandedOver" and r["actor"] == PLANT)
    assert hand["actorName"] == "plant" and hand["counterpartyName"] == "shop"
    assert hand["eventTime"].endswith("Z")


def test_csv_in_batch_scope_keeps_only_the_lineage():
    s = clean_stream()
    other = s.commission(PLANT, b"\x07" * 32)
    rows = list(csv.DictReader(io.StringIO(render_csv(analyse(s.events, focus=LOT)))))
    assert rows and all(r["batch"] in ("0x" + LOT.hex(), "0x" + RAW.hex()) for r in rows)
    assert all(r["tx"] != other.tx for r in rows)


def hostile_stream() -> Stream:
    s = clean_stream()
    name = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    s.add(OrganisationAdmitted(*s._loc(), "0x" + "9" * 40, 42, "3760123400999", name, "FR"))
    return s


def test_html_escapes_on_chain_text_and_loads_nothing():
    html = render_html(analyse(hostile_stream().events))
    assert "<script>" not in html and "<img" not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"
        in html
    )
    assert not re.search(r"<[^>]*\s(src|href)=", html)  # no tag loads anything
    assert re.findall(r"url\(([^)]*)\)", html) == ["#arrow"] * html.count("marker-end")
    assert "http://www.w3.org/2000/svg" in html  # a namespace, not a request
    assert len(re.findall(r"https?://", html)) == html.count('xmlns="http://www.w3.org/2000/svg"')


def test_html_shows_verdict_pictures_and_violations():
    s, bad = failing_stream()
    html = render_html(analyse(s.events))
    assert "1 VIOLATION(S)" in html and 'id="violations"' in html
    assert html.count("<svg") == 2 and 'id="genealogy"' in html and 'id="timeline"' in html
    assert bad.tx in html
    clean_html = render_html(analyse(clean_stream().events))
    assert "ALL CHECKS PASSED" in clean_html and 'id="violations"' not in clean_html


def test_documents_are_matched_missing_or_not_on_chain(tmp_path):
    s = Stream().bootstrap()
    s.commission(PLANT, LOT)
    reports = {"melamine.pdf": b"melamine report", "cronobacter.pdf": b"cronobacter report"}
    for name, content in reports.items():
        s.add(
            QualityRecorded(
                *s._loc(),
                LOT,
                s.eid(),
                LAB,
                name.split(".")[0].upper(),
                True,
                0,
                "MGKG",
                hashlib.sha256(content).digest(),
                1,
            )
        )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "melamine.pdf").write_bytes(reports["melamine.pdf"])
    (tmp_path / "photo.jpg").write_bytes(b"not a report")
    ledger = analyse(s.events).ledger
    d = match_documents(tmp_path, ledger).as_dict()
    assert [m["file"] for m in d["matched"]] == ["sub/melamine.pdf"]
    assert d["matched"][0]["records"][0]["test"] == "MELAMINE"
    assert [m["file"] for m in d["notOnChain"]] == ["photo.jpg"]
    assert [m["sha256"] for m in d["missing"]] == [
        hashlib.sha256(b"cronobacter report").hexdigest()
    ]
