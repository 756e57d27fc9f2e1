"""milktrace CSV: one row per event, for systems without EPCIS (see docs/csv-format.md).

UTF-8 (a BOM is fine), comma-separated, a header row naming the columns (any order, lower
case), then one event per row; blank rows and rows whose first cell starts with `#` are
skipped. Free-text columns (`note`, `product_name`, `lab_name`, any `x_...` column) may hold
any text, Chinese included; they are part of the row's id but never go on chain.

Every problem names the file, the line (1-based, the header is line 1; a quoted cell spanning
lines counts from the row's first line), the column and what was expected.

Event id of a row: `eventhash.csv_row_id` over the row's non-empty cells plus, for each file
a row refers to (`report_file`, `readings_file`, `notice_file`), `<column>#sha256=<hex>` of the
file's content, so that changing a referenced file changes the id.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from milktrace.errors import InvalidIdentifier, Problem
from milktrace.eventhash import csv_row_id, epoch_seconds, ni_to_bytes32
from milktrace.identifiers import (
    batch_path,
    check_gln,
    check_lot,
    normalize_gtin,
    parse_digital_link,
    path_id,
)
from milktrace.merkle import MerkleTree, Reading
from milktrace.plan import Draft, FileResult, SourceRef
from milktrace.types import (
    Accept,
    Anchor,
    AnchorKind,
    CancelHandOver,
    Commission,
    ConditionSummary,
    HandOver,
    QualityResult,
    Record,
    Status,
    StatusChange,
)

KINDS = ("commission", "ship", "receive", "cancel", "quality", "condition", "status", "anchor")
COLUMNS = {
    "kind", "event_time", "gtin", "lot", "unit", "note",
    "production_date", "expiry_date", "quantity", "uom", "site_gln", "parents", "product_name",
    "from_gln", "to_gln",
    "test_code", "value", "result", "report_sha256", "report_file", "lab_name",
    "readings_file", "readings_root", "count", "min_c", "max_c", "alarm", "range_min_c",
    "range_max_c",
    "status", "reason", "notice_sha256", "notice_file",
    "anchor_kind", "event_hash",
}
FILE_COLUMNS = ("report_file", "readings_file", "notice_file")
DEFAULT_RANGE_C = (Decimal(2), Decimal(8))
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_HEX64 = re.compile(r"^(?:0x)?[0-9a-fA-F]{64}$")
_REC20 = re.compile(r"^[A-Z0-9]{2,3}$")
_CODE = re.compile(r"^[\x21-\x7e]{1,16}$")
_FORMATS = Draft7Validator.FORMAT_CHECKER
_ANCHOR_KINDS = {k.name.lower(): k for k in AnchorKind}
_STATUSES = {"quarantined": Status.QUARANTINED, "released": Status.RELEASED,
             "recalled": Status.RECALLED}


class RowError(Exception):
    """A problem in one cell; collected, never escapes `read_csv`."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass
class Row:
    """One CSV row being read: its cells and where it is."""

    file: Path
    line: int
    cells: dict[str, str]
    problems: list[Problem]
    digests: dict[str, bytes | None] = field(default_factory=dict)  # file column -> sha-256

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()

    def problem(self, column: str, message: str) -> None:
        self.problems.append(Problem(str(self.file), f"line {self.line}", column, message))

    def need(self, column: str, what: str) -> str:
        value = self.get(column)
        if not value:
            raise RowError(column, f"required for this kind: {what}")
        return value

    def read(self, column: str, parse: Callable[[str], Any], what: str,
             required: bool = True) -> Any:
        """Parse one cell; a problem (and None) when it is missing or wrong."""
        value = self.get(column)
        if not value:
            if required:
                self.problem(column, f"required for kind {self.get('kind')}: {what}")
            return None
        try:
            return parse(value)
        except (ValueError, KeyError, InvalidIdentifier, InvalidOperation) as exc:
            detail = str(exc) if isinstance(exc, InvalidIdentifier) else ""
            self.problem(column, f"expected {what}; got {value!r}"
                         + (f" ({detail})" if detail else ""))
            return None


def _date(text: str) -> int:
    m = _DATE.match(text)
    if not m:
        raise ValueError(text)
    date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return int(m.group(1) + m.group(2) + m.group(3))


def _decimal(text: str) -> Decimal:
    number = Decimal(text)
    if not number.is_finite():
        raise ValueError(text)
    return number


def _whole(text: str) -> int:
    number = Decimal(text)
    if number != number.to_integral_value() or number < 1 or number >= 2**64:
        raise ValueError(text)
    return int(number)


def _sha256(text: str) -> bytes:
    if not _HEX64.match(text):
        raise ValueError(text)
    return bytes.fromhex(text.removeprefix("0x"))


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false", "yes", "no", "1", "0"):
        raise ValueError(text)
    return lowered in ("true", "yes", "1")


def _pattern(regex: re.Pattern[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not regex.match(text):
            raise ValueError(text)
        return text
    return parse


def _time(text: str) -> int:
    if not _FORMATS.conforms(text, "date-time"):
        raise ValueError(text)
    seconds = epoch_seconds(text)
    if seconds is None or seconds < 0:
        raise ValueError(text)
    return seconds


def _file_digest(row: Row, column: str) -> bytes | None:
    """sha-256 of the file a cell names, read once per row (the record and the row id both
    need it); a problem, once, when it cannot be read."""
    rel = row.get(column)
    if not rel:
        return None
    if column not in row.digests:
        try:
            row.digests[column] = hashlib.sha256((row.file.parent / rel).read_bytes()).digest()
        except OSError as exc:
            row.digests[column] = None
            row.problem(column, f"cannot read {rel!r} (a path relative to the CSV file): "
                                f"{exc.strerror or exc}")
    return row.digests[column]


def _unit(row: Row) -> tuple[str, bytes] | None:
    """The Digital Link path and id of the row's unit (gtin + lot, or unit)."""
    if row.get("unit"):
        if row.get("gtin") or row.get("lot"):
            row.problem("unit", "expected either unit or gtin + lot, not both")
            return None
        link = row.read("unit", parse_digital_link,
                        "a Digital Link of the unit: /01/{GTIN}/10/{lot}, /01/{GTIN}/21/{serial} "
                        "or /00/{SSCC} (or an https:// URI ending so)")
        return (link.path, link.id) if link else None  # type: ignore[attr-defined]
    gtin = row.read("gtin", normalize_gtin, "a GTIN-8/12/13/14 with a valid check digit")
    lot = row.read("lot", check_lot, "a lot of 1-20 characters from A-Z a-z 0-9 - . _")
    if gtin is None or lot is None:
        return None
    path = batch_path(gtin, lot)  # type: ignore[arg-type]
    return path, path_id(path)


# ----------------------------------------------------------------------------- kinds

def _commission(row: Row, base: dict, path: str) -> tuple[Record, dict] | None:
    if not row.get("gtin") or not row.get("lot"):
        row.problem("gtin", "a commission row names its batch with gtin and lot")
        return None
    gtin = path.split("/")[2]
    lot = path.split("/")[4]
    production = row.read("production_date", _date, "a date YYYY-MM-DD")
    expiry = row.read("expiry_date", _date, "a date YYYY-MM-DD after production_date")
    quantity = row.read("quantity", _whole, "a whole quantity of at least 1")
    uom = row.read("uom", _pattern(_REC20),
                   "a UN/ECE Rec 20 unit code of 2-3 capitals or digits (e.g. LTR, KGM, H87)")
    site = row.read("site_gln", check_gln, "the production site's 13-digit GLN")
    parents: list[tuple[str, bytes]] = []
    for text in row.get("parents").replace(";", " ").split():
        try:
            link = parse_digital_link(text)
        except InvalidIdentifier as exc:
            row.problem("parents", f"expected input batches as Digital Link paths "
                                   f"/01/{{GTIN}}/10/{{lot}}; {exc}")
            continue
        if link.lot is None:
            row.problem("parents", f"input {text!r} is not a batch: expected "
                                   "/01/{GTIN}/10/{lot}")
        else:
            parents.append((link.path, link.id))
    if len(parents) > 255:
        row.problem("parents", f"expected at most 255 input batches; got {len(parents)}")
    if isinstance(production, int) and isinstance(expiry, int) and expiry <= production:
        row.problem("expiry_date", f"expected a date after production_date "
                                   f"{row.get('production_date')}; got {row.get('expiry_date')}")
        return None
    if None in (production, expiry, quantity, uom, site):
        return None
    record = Commission(gtin=gtin, lot=lot, production_date=production,  # type: ignore[arg-type]
                        expiry_date=expiry, quantity=quantity, unit=uom,  # type: ignore[arg-type]
                        site_gln=site, parents=tuple(p[1] for p in parents),  # type: ignore[arg-type]
                        **base)
    return record, {"parent_units": tuple(p[0] for p in parents)}


def _party(row: Row, column: str, required: bool) -> str | None:
    return row.read(column, check_gln, "a 13-digit GLN with a valid check digit",  # type: ignore[return-value]
                    required=required)


def _ship(row: Row, base: dict, path: str) -> tuple[Record, dict] | None:
    to = _party(row, "to_gln", True)
    sender = _party(row, "from_gln", False)
    if to is None:
        return None
    return (HandOver(to="0x" + "00" * 20, **base),
            {"to_gln": to, "to_field": "to_gln", "sender_gln": sender,
             "party_field": "from_gln"})


def _receive(row: Row, base: dict, path: str) -> tuple[Record, dict] | None:
    receiver = _party(row, "to_gln", False)
    _party(row, "from_gln", False)
    return Accept(**base), {"receiver_gln": receiver, "party_field": "to_gln"}


def _cancel(row: Row, base: dict, path: str) -> tuple[Record, dict] | None:
    sender = _party(row, "from_gln", False)
    return CancelHandOver(**base), {"sender_gln": sender, "party_field": "from_gln"}


def _quality(row: Row, base: dict, path: str) -> tuple[Record, dict] | None:
    code = row.read("test_code", _pattern(_CODE), "a test code of 1-16 ASCII characters "
                                                  "(e.g. MELAMINE)")
    value = row.read("value", _decimal, "the measured value as a decimal number")
    unit = row.read("uom", _pattern(re.compile(r"^[\x21-\x7e]{1,8}$")),
                    "a unit code of 1-8 ASCII characters (e.g. MGKG)")
    passed = row.read("result", lambda t: {"pass": True, "fail": False}[t.lower()],
                      "pass or fail")
    report = None
    if row.get("report_sha256") and row.get("report_file"):
        row.problem("report_sha256", "expected report_sha256 or report_file, not both")
    elif row.get("report_sha256"):
        report = row.read("report_sha256", _sha256, "the report's sha-256 as 64 hex digits")
    elif row.get("report_file"):
        report = _file_digest(row, "report_file")
    else:
        row.problem("report_sha256", "required for kind quality: the lab report's sha-256 "
                                     "(report_sha256) or the report file (report_file)")
    micro = None
    if isinstance(value, Decimal):
        micro = int((value * 1_000_000).to_integral_value())
        if abs(micro) >= 2**63:
            row.problem("value", f"expected |value| below 9.2e12; got {row.get('value')}")
            micro = None
    if None in (code, micro, unit, passed, report):
        return None
    return QualityResult(test_code=code, passed=passed, value_micro=micro,  # type: ignore[arg-type]
                         unit=unit, report_hash=report, **base), {}  # type: ignore[arg-type]


def _centi(text: str) -> int:
    centi = int((_decimal(text) * 100).to_integral_value())
    if not -(2**31) <= centi < 2**31:
        raise ValueError(text)
    return centi


def _readings(row: Row) -> list[Reading] | None:
    rel = row.get("readings_file")
    try:
        text = (row.file.parent / rel).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        row.problem("readings_file", f"cannot read {rel!r} (a path relative to the CSV "
                                     f"file): {why}")
        return None
    readings = []
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "time" not in header or "temperature_c" not in header:
        row.problem("readings_file", f"{rel}: expected a header time,temperature_c[,sensor]; "
                                     f"got {','.join(header)}")
        return None
    for n, raw in enumerate(reader, start=2):
        cells = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        try:
            readings.append(Reading(_time(cells["time"]), _centi(cells["temperature_c"]),
                                    cells.get("sensor", "")))
        except (ValueError, InvalidOperation):
            row.problem("readings_file", f"{rel} line {n}: expected time as an RFC 3339 "
                                         "date-time with offset and temperature_c as a decimal "
                                         f"°C; got {cells.get('time')!r}, "
                                         f"{cells.get('temperature_c')!r}")
    return readings


def _condition(row: Row, base: dict, path: str) -> tuple[Record, dict] | None:
    if row.get("readings_file"):
        if any(row.get(c) for c in ("readings_root", "count", "min_c", "max_c")):
            row.problem("readings_file", "expected readings_file or the inline summary "
                                         "(readings_root, count, min_c, max_c, alarm), not both")
            return None
        low = row.read("range_min_c", _decimal, "a temperature in °C", required=False)
        high = row.read("range_max_c", _decimal, "a temperature in °C", required=False)
        low = DEFAULT_RANGE_C[0] if low is None else low
        high = DEFAULT_RANGE_C[1] if high is None else high
        readings = _readings(row)
        if readings is None:
            return None
        values = [r.centi for r in readings]
        alarm = any(not low <= Decimal(v) / 100 <= high for v in values)  # type: ignore[operator]
        if row.get("alarm"):
            alarm = alarm or bool(row.read("alarm", _bool, "true or false"))
        return ConditionSummary(readings_root=MerkleTree.of_readings(readings).root,
                                count=len(readings), min_centi=min(values, default=0),
                                max_centi=max(values, default=0), alarm=alarm, **base), {}
    root = row.read("readings_root", _sha256, "the readings' Merkle root as 64 hex digits "
                                              "(or give readings_file)")
    count = row.read("count", lambda t: int(t) if t.isdigit() and int(t) < 2**32 else
                     int("x"), "the number of readings")
    low = row.read("min_c", _centi, "the lowest temperature in °C")
    high = row.read("max_c", _centi, "the highest temperature in °C")
    alarm = row.read("alarm", _bool, "true or false")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        row.problem("max_c", f"expected max_c >= min_c {row.get('min_c')}; got "
                             f"{row.get('max_c')}")
        return None
    if None in (root, count, low, high, alarm):
        return None
    return ConditionSummary(readings_root=root, count=count, min_centi=low,  # type: ignore[arg-type]
                            max_centi=high, alarm=alarm, **base), {}  # type: ignore[arg-type]


def _status(row: Row, base: dict, path: str) -> tuple[Record, dict] | None:
    status = row.read("status", lambda t: _STATUSES[t.lower()],
                      "quarantined, released or recalled")
    reason = row.read("reason", _pattern(_CODE), "a reason code of 1-16 ASCII characters "
                                                 "(e.g. CRONOBACTER)")
    notice = bytes(32)
    if row.get("notice_sha256"):
        notice = row.read("notice_sha256", _sha256, "the notice's sha-256 as 64 hex digits")
    elif row.get("notice_file"):
        notice = _file_digest(row, "notice_file")  # type: ignore[assignment]
    if None in (status, reason, notice):
        return None
    return StatusChange(status=status, reason=reason, notice_hash=notice,  # type: ignore[arg-type]
                        **base), {}


def _anchor(row: Row, base: dict, path: str) -> tuple[Record, dict] | None:
    kind = row.read("anchor_kind", lambda t: _ANCHOR_KINDS[t.lower()],
                    "object, aggregation, transformation, transaction or association")
    if kind is None:
        return None
    return Anchor(anchor_kind=kind, **base), {}  # type: ignore[arg-type]


_BUILDERS = {"commission": _commission, "ship": _ship, "receive": _receive, "cancel": _cancel,
             "quality": _quality, "condition": _condition, "status": _status, "anchor": _anchor}


# ----------------------------------------------------------------------------- reading

def _row_id(row: Row) -> bytes:
    items = [(k, v) for k, v in row.cells.items()]
    for column in FILE_COLUMNS:
        digest = _file_digest(row, column) if row.get(column) else None
        if digest is not None:
            items.append((f"{column}#sha256", digest.hex()))
    return csv_row_id(items)


def read_row(row: Row) -> Draft | None:
    kind = row.get("kind").lower()
    if kind not in _BUILDERS:
        row.problem("kind", f"expected one of {', '.join(KINDS)}; got {row.get('kind')!r}")
        return None
    when = row.read("event_time", _time, "an RFC 3339 date-time with a UTC offset "
                                         "(e.g. 2025-03-01T08:00:00+08:00)")
    unit = _unit(row)
    event_id = None
    if kind == "anchor" and row.get("event_hash"):
        event_id = row.read("event_hash", ni_to_bytes32,
                            "the EPCIS event hash ni:///sha-256;<hex>?ver=CBV2.0 or 64 hex digits")
    elif row.get("event_hash"):
        row.problem("event_hash", "only anchor rows take an event_hash")
    if when is None or unit is None:
        return None
    path, batch = unit
    base = {"batch_id": batch, "event_id": event_id or _row_id(row), "event_time": when}
    try:
        built = _BUILDERS[kind](row, base, path)
    except RowError as exc:
        row.problem(exc.column, exc.message)
        return None
    if built is None:
        return None
    record, extra = built
    return Draft(record=record, source=SourceRef(str(row.file), f"line {row.line}"),
                 field="unit" if row.get("unit") else "lot", unit=path, **extra)


def read_csv(path: Path) -> FileResult:
    """Validate one milktrace CSV file whole and turn its rows into drafts."""
    result = FileResult()
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        result.problems.append(Problem(name, "file", "", f"cannot read the file: "
                                                         f"{exc.strerror or exc}"))
        return result
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        result.problems.append(Problem(name, f"line {line}", "", (
            f"expected UTF-8 text; byte {exc.start} is not UTF-8 (save the file as UTF-8)")))
        return result
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        result.problems.append(Problem(name, "line 1", "", "empty file: expected a header row "
                                                           "(kind,event_time,gtin,lot,...)"))
        return result
    columns = [h.strip().lower() for h in header]
    for i, column in enumerate(columns):
        if column not in COLUMNS and not column.startswith("x_"):
            result.problems.append(Problem(name, "line 1", column or f"column {i + 1}", (
                f"unknown column {header[i]!r}: expected one of {', '.join(sorted(COLUMNS))} "
                "(or a custom column named x_...)")))
        elif columns.index(column) != i:
            result.problems.append(Problem(name, "line 1", column, "column given twice"))
    for needed in ("kind", "event_time"):
        if needed not in columns:
            result.problems.append(Problem(name, "line 1", needed, "required column missing"))
    if result.problems:
        return result
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        row = Row(path, line, {}, result.problems)
        if len(cells) > len(columns):
            row.problem(f"column {len(columns) + 1}", f"expected {len(columns)} cells as in "
                                                      f"the header; got {len(cells)}")
            continue
        row.cells = {c: v for c, v in zip(columns, cells, strict=False)}
        draft = read_row(row)
        if draft is not None:
            result.drafts.append(draft)
    return result


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """Write rows (column → text) as a milktrace CSV file: UTF-8, header of the columns used,
    in the order first seen. Reading it back gives the same records and event ids."""
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    path.write_text(buffer.getvalue(), encoding="utf-8")
