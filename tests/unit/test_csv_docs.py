"""The examples in docs/csv-format.md plan as documented (the docs cannot rot silently)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from milktrace.errors import ValidationError
from milktrace.plan import plan_files
from milktrace.types import RecordKind

DOC = Path(__file__).resolve().parents[2] / "docs" / "csv-format.md"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    csv_text, readings, lab = [b for _, b in re.findall(r"```(csv|json)\n(.*?)```",
                                                           DOC.read_text("utf-8"), re.S)]
    (tmp_path / "loggers").mkdir()
    (tmp_path / "reports").mkdir()
    (tmp_path / "shipment-2025-03.csv").write_text(csv_text, "utf-8")
    (tmp_path / "loggers" / "P2503A.csv").write_text(readings, "utf-8")
    (tmp_path / "reports" / "P2503A-melamine.pdf").write_bytes(b"%PDF-1.7 report")
    (tmp_path / "lab.jsonld").write_text(lab, "utf-8")
    return tmp_path


def test_the_documented_csv_example_plans_every_kind_it_shows(examples):
    kinds = [p.record.kind for p in plan_files([examples / "shipment-2025-03.csv"])]
    assert kinds == [RecordKind.COMMISSION, RecordKind.COMMISSION, RecordKind.QUALITY,
                     RecordKind.HAND_OVER, RecordKind.CONDITION, RecordKind.STATUS,
                     RecordKind.ANCHOR]


def test_the_documented_lab_result_document_plans_two_results(examples):
    planned = plan_files([examples / "lab.jsonld"])
    assert [p.record.test_code for p in planned] == ["MELAMINE", "CRONOBACTER"]


def test_the_documented_typo_gives_the_documented_message(examples):
    path = examples / "shipment-2025-03.csv"
    lines = path.read_text("utf-8").splitlines()
    lines[2] = lines[2].replace("2027-03-01", "2025-03-01")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(ValidationError) as info:
        plan_files([path])
    assert str(info.value.problems[0]).endswith(
        "shipment-2025-03.csv: line 3: expiry_date: expected a date after production_date "
        "2025-03-02; got 2025-03-01")
