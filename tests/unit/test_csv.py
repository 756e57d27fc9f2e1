"""milktrace CSV: every record kind, round trips with Chinese text, and every error type named
by line and column."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milktrace.csvformat import read_csv, write_csv
from milktrace.errors import ValidationError
from milktrace.eventhash import csv_canonical
from milktrace.identifiers import batch_id
from milktrace.merkle import MerkleTree, Reading
from milktrace.plan import plan_files
from milktrace.types import AnchorKind, RecordKind, Status

GTIN, LOT = "06901234123456", "L2503A"
BATCH = {"gtin": GTIN, "lot": LOT}
T = "2025-03-01T08:00:00+08:00"
COMMISSION = {"kind": "commission", "event_time": T, **BATCH, "production_date": "2025-03-01",
              "expiry_date": "2026-09-01", "quantity": "1200", "uom": "LTR",
              "site_gln": "6901234000016", "product_name": "婴儿配方奶粉 1段",
              "note": "原奶批次，黑龙江牧场"}


def write(tmp_path: Path, rows: list[dict[str, str]], name: str = "in.csv") -> Path:
    path = tmp_path / name
    write_csv(path, rows)
    return path


def plan(path: Path):
    return [p.record for p in plan_files([path])]


def test_every_record_kind_reads(tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF lab report")
    (tmp_path / "readings.csv").write_text(
        "time,temperature_c,sensor\n2025-03-01T09:00:00+08:00,4.5,冷链-1\n"
        "2025-03-01T10:00:00+08:00,9.25,冷链-1\n", "utf-8")
    rows = [
        COMMISSION,
        {"kind": "ship", "event_time": T, **BATCH, "to_gln": "6901234000023",
         "from_gln": "6901234000016"},
        {"kind": "cancel", "event_time": T, **BATCH},
        {"kind": "receive", "event_time": T, **BATCH, "to_gln": "6901234000023"},
        {"kind": "quality", "event_time": T, **BATCH, "test_code": "MELAMINE", "value": "0.05",
         "uom": "MGKG", "result": "pass", "report_file": "report.pdf", "lab_name": "上海检测中心"},
        {"kind": "condition", "event_time": T, **BATCH, "readings_file": "readings.csv"},
        {"kind": "condition", "event_time": T, **BATCH, "readings_root": "ab" * 32,
         "count": "12", "min_c": "2.5", "max_c": "7.75", "alarm": "false"},
        {"kind": "status", "event_time": T, **BATCH, "status": "recalled", "reason": "MELAMINE"},
        {"kind": "anchor", "event_time": T, "unit": "/00/069012340000000016",
         "anchor_kind": "aggregation"},
        {"kind": "commission", "event_time": T, "gtin": GTIN, "lot": "L2503B",
         "production_date": "2025-03-02", "expiry_date": "2026-09-02", "quantity": "800",
         "uom": "KGM", "site_gln": "6901234000016", "parents": f"/01/{GTIN}/10/{LOT}"},
    ]
    records = plan(write(tmp_path, rows))
    assert [r.kind for r in records] == [
        RecordKind.COMMISSION, RecordKind.HAND_OVER, RecordKind.CANCEL_HAND_OVER,
        RecordKind.ACCEPT, RecordKind.QUALITY, RecordKind.CONDITION, RecordKind.CONDITION,
        RecordKind.STATUS, RecordKind.ANCHOR, RecordKind.COMMISSION]
    commission, _, _, _, quality, from_file, inline, status, anchor, child = records
    assert commission.batch_id == batch_id(GTIN, LOT)
    assert (commission.production_date, commission.expiry_date, commission.quantity,
            commission.unit, commission.site_gln) == (20250301, 20260901, 1200, "LTR",
                                                      "6901234000016")
    assert commission.event_time == 1740787200
    assert quality.report_hash == hashlib.sha256(b"%PDF lab report").digest()
    assert (quality.test_code, quality.value_micro, quality.passed) == ("MELAMINE", 50_000, True)
    readings = [Reading(1740790800, 450, "冷链-1"), Reading(1740794400, 925, "冷链-1")]
    assert from_file.readings_root == MerkleTree.of_readings(readings).root
    assert (from_file.count, from_file.min_centi, from_file.max_centi, from_file.alarm) == \
        (2, 450, 925, True)  # 9.25 °C is outside 2-8 °C
    assert (inline.count, inline.min_centi, inline.max_centi, inline.alarm) == (12, 250, 775,
                                                                                False)
    assert (status.status, status.reason) == (Status.RECALLED, "MELAMINE")
    assert anchor.anchor_kind == AnchorKind.AGGREGATION
    assert child.parents == (batch_id(GTIN, LOT),)


def test_round_trip_keeps_chinese_text_and_event_ids(tmp_path):
    first = write(tmp_path, [COMMISSION], "a.csv")
    assert "原奶批次，黑龙江牧场" in first.read_text("utf-8")
    again = write(tmp_path, [dict(reversed(list(COMMISSION.items())))], "b.csv")
    assert plan(first) == plan(again)  # same content, other column order: same event id
    assert "note=原奶批次，黑龙江牧场\n" in csv_canonical(COMMISSION)


def test_changing_free_text_changes_the_event_id(tmp_path):
    a = plan(write(tmp_path, [COMMISSION], "a.csv"))[0]
    b = plan(write(tmp_path, [{**COMMISSION, "note": "原奶批次"}], "b.csv"))[0]
    assert a.event_id != b.event_id and a.batch_id == b.batch_id


def test_a_referenced_file_is_part_of_the_event_id(tmp_path):
    row = {"kind": "quality", "event_time": T, **BATCH, "test_code": "MELAMINE",
           "value": "0.05", "uom": "MGKG", "result": "pass", "report_file": "r.pdf"}
    path = write(tmp_path, [COMMISSION, row])
    (tmp_path / "r.pdf").write_bytes(b"v1")
    first = plan(path)[1]
    (tmp_path / "r.pdf").write_bytes(b"v2")
    assert plan(path)[1].event_id != first.event_id


def test_utf8_bom_blank_rows_and_comments_are_fine(tmp_path):
    path = write(tmp_path, [COMMISSION])
    text = path.read_text("utf-8").splitlines()
    path.write_bytes(("\ufeff" + "\n".join([text[0], "", "# 注释", text[1]]) + "\n")
                     .encode("utf-8"))
    [record] = plan(path)
    assert record.batch_id == batch_id(GTIN, LOT)


@settings(max_examples=40, deadline=None)
@given(st.permutations(list(COMMISSION)))
def test_column_order_does_not_change_records(tmp_path_factory, order):
    path = write(tmp_path_factory.mktemp("csv"), [{k: COMMISSION[k] for k in order}])
    [record] = plan(path)
    [reference] = plan(write(tmp_path_factory.mktemp("csv"), [COMMISSION]))
    assert record == reference


def problems(tmp_path: Path, rows: list[dict[str, str]], raw: bytes | None = None):
    path = tmp_path / "bad.csv"
    if raw is None:
        write_csv(path, rows)
    else:
        path.write_bytes(raw)
    result = read_csv(path)
    with pytest.raises(ValidationError):
        plan_files([path])
    return [(p.where, p.field, p.message) for p in result.problems]


BAD_ROWS = [
    ({"kind": "teleport"}, "kind", "commission, ship"),
    ({"event_time": "2025-03-01 08:00"}, "event_time", "RFC 3339"),
    ({"gtin": "06901234123457"}, "gtin", "check digit is 7, expected 6"),
    ({"lot": "L 25/03"}, "lot", "A-Z a-z 0-9 - . _"),
    ({"production_date": "2025-02-30"}, "production_date", "YYYY-MM-DD"),
    ({"expiry_date": "2024-01-01"}, "expiry_date", "after production_date"),
    ({"quantity": "12.5"}, "quantity", "whole quantity"),
    ({"uom": "litres"}, "uom", "Rec 20"),
    ({"site_gln": "6901234000017"}, "site_gln", "check digit"),
    ({"site_gln": ""}, "site_gln", "required"),
    ({"parents": "/01/06901234123456/21/SER1"}, "parents", "not a batch"),
]


@pytest.mark.parametrize(("change", "column", "words"), BAD_ROWS,
                         ids=[f"{c}-{next(iter(ch.values())) or 'empty'}" for ch, c, _ in BAD_ROWS])
def test_each_bad_commission_cell_is_named_by_line_and_column(tmp_path, change, column, words):
    found = problems(tmp_path, [COMMISSION, {**COMMISSION, **change}])
    assert any(w == "line 3" and f == column and words in m for w, f, m in found), found


OTHER_BAD = [
    ({"kind": "ship", "event_time": T, **BATCH}, "to_gln", "required"),
    ({"kind": "ship", "event_time": T, **BATCH, "to_gln": "12345"}, "to_gln", "13-digit GLN"),
    ({"kind": "quality", "event_time": T, **BATCH, "test_code": "MELAMINE", "value": "abc",
      "uom": "MGKG", "result": "pass", "report_sha256": "00" * 32}, "value", "decimal"),
    ({"kind": "quality", "event_time": T, **BATCH, "test_code": "MELAMINE", "value": "1",
      "uom": "MGKG", "result": "maybe", "report_sha256": "00" * 32}, "result", "pass or fail"),
    ({"kind": "quality", "event_time": T, **BATCH, "test_code": "MELAMINE", "value": "1",
      "uom": "MGKG", "result": "pass"}, "report_sha256", "sha-256"),
    ({"kind": "quality", "event_time": T, **BATCH, "test_code": "三聚氰胺", "value": "1",
      "uom": "MGKG", "result": "pass", "report_sha256": "00" * 32}, "test_code", "ASCII"),
    ({"kind": "quality", "event_time": T, **BATCH, "test_code": "MELAMINE", "value": "1",
      "uom": "MGKG", "result": "pass", "report_file": "missing.pdf"}, "report_file",
     "cannot read"),
    ({"kind": "condition", "event_time": T, **BATCH, "readings_root": "xyz", "count": "1",
      "min_c": "1", "max_c": "2", "alarm": "no"}, "readings_root", "64 hex"),
    ({"kind": "condition", "event_time": T, **BATCH, "readings_root": "ab" * 32, "count": "1",
      "min_c": "5", "max_c": "2", "alarm": "no"}, "max_c", "max_c >= min_c"),
    ({"kind": "status", "event_time": T, **BATCH, "status": "paused", "reason": "X"},
     "status", "quarantined, released or recalled"),
    ({"kind": "status", "event_time": T, **BATCH, "status": "recalled",
      "reason": "A_REASON_LONGER_THAN_16"}, "reason", "1-16 ASCII"),
    ({"kind": "anchor", "event_time": T, **BATCH, "anchor_kind": "shipment"}, "anchor_kind",
     "object, aggregation"),
    ({"kind": "anchor", "event_time": T, **BATCH, "anchor_kind": "object",
      "event_hash": "ni:///sha-256;abc"}, "event_hash", "ni:///sha-256"),
    ({"kind": "anchor", "event_time": T, "unit": "/00/069012340000000019",
      "anchor_kind": "object"}, "unit", "check digit"),
    ({"kind": "anchor", "event_time": T, "anchor_kind": "object"}, "gtin", "required"),
]


@pytest.mark.parametrize(("row", "column", "words"), OTHER_BAD,
                         ids=[f"{r['kind']}-{c}" for r, c, _ in OTHER_BAD])
def test_each_bad_cell_of_other_kinds_is_named_by_line_and_column(tmp_path, row, column, words):
    found = problems(tmp_path, [COMMISSION, row])
    assert any(w == "line 3" and f == column and words in m for w, f, m in found), found


def test_bad_readings_file_line_is_named(tmp_path):
    (tmp_path / "readings.csv").write_text(
        "time,temperature_c\n2025-03-01T09:00:00+08:00,4.5\nyesterday,warm\n", "utf-8")
    found = problems(tmp_path, [{"kind": "condition", "event_time": T, **BATCH,
                                 "readings_file": "readings.csv"}])
    assert found[0][:2] == ("line 2", "readings_file")
    assert "readings.csv line 3" in found[0][2]


def test_unknown_and_missing_header_columns_are_named_on_line_1(tmp_path):
    found = problems(tmp_path, [], raw=b"kind,evnt_time,gtin\nship,x,y\n")
    assert ("line 1", "evnt_time") in [(w, f) for w, f, _ in found]
    assert ("line 1", "event_time") in [(w, f) for w, f, _ in found]


def test_too_many_cells_and_non_utf8_are_named(tmp_path):
    header = "kind,event_time,gtin,lot\n"
    found = problems(tmp_path, [], raw=(header + f"anchor,{T},{GTIN},{LOT},extra\n").encode())
    assert found == [("line 2", "column 5", "expected 4 cells as in the header; got 5")]
    found = problems(tmp_path, [], raw=(header + "anchor,").encode() + "时间".encode("gbk"))
    assert found[0][0] == "line 2" and "UTF-8" in found[0][2]


def test_a_quoted_cell_over_two_lines_counts_from_its_first_line(tmp_path):
    raw = ("kind,event_time,gtin,lot,anchor_kind,note\n"
           f'anchor,{T},{GTIN},{LOT},object,"第一行\n第二行"\n'
           f"anchor,{T},{GTIN},{LOT},parcel,\n").encode()
    found = problems(tmp_path, [], raw=raw)
    assert [(w, f) for w, f, _ in found] == [("line 4", "anchor_kind")]


def test_all_problems_of_a_file_are_reported_together(tmp_path):
    rows = [{**COMMISSION, "gtin": "123"}, {**COMMISSION, "uom": "x", "quantity": "-1"}]
    found = problems(tmp_path, rows)
    assert {(w, f) for w, f, _ in found} == {("line 2", "gtin"), ("line 3", "uom"),
                                            ("line 3", "quantity")}


def test_a_missing_report_file_is_one_problem_though_record_and_row_id_both_need_it(tmp_path):
    row = {"kind": "quality", "event_time": T, **BATCH, "test_code": "MELAMINE", "value": "0.05",
           "uom": "MGKG", "result": "pass", "report_file": "reports/none.pdf"}
    found = problems(tmp_path, [row])
    assert [(w, f) for w, f, _ in found] == [("line 2", "report_file")]
    assert "cannot read 'reports/none.pdf'" in found[0][2]
