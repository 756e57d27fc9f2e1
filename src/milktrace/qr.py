"""QR labels for cartons: GS1 Digital Link URIs as PNG, SVG and a printable label sheet.

A label encodes `https://{domain}/01/{GTIN-14}/10/{lot}` (with `?17=YYMMDD` when the expiry
is asked for), the same path the scan page turns into the batch id. Print settings:

- error correction **Q** (recovers ~25 % of the symbol): cartons get scuffed, creased, wet in
  a fridge and curved around a can; a Digital Link of ~60 characters still fits version 5–6
  (37–41 modules) at Q, so the code stays small. `L`/`M`/`H` can be chosen.
- a **4-module quiet zone** (ISO/IEC 18004's minimum) drawn white in both PNG and SVG, so the
  code scans on a coloured carton too.
- module size **0.5 mm** in the SVG and the sheet (a version-5 code is 22.5 mm wide with its
  quiet zone); the PNG is 12 px per module tagged 600 dpi, which prints at 0.51 mm.
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import qrcode
import qrcode.constants
import qrcode.image.svg

from milktrace.errors import InvalidIdentifier, Problem, ValidationError
from milktrace.identifiers import batch_path, check_lot, normalize_gtin

log = logging.getLogger(__name__)

ERROR_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
DEFAULT_ERROR_LEVEL = "Q"
QUIET_ZONE = 4  # modules
MODULE_MM = 0.5  # SVG and label sheet
PNG_BOX_PX = 12  # pixels per module in the PNG
PNG_DPI = 600  # 12 px at 600 dpi = 0.508 mm per module
DEFAULT_BASE_URL = "https://id.milktrace.example"


# ---------------------------------------------------------------------------- labels


def parse_expiry(value: str | date | None) -> date | None:
    """An expiry as a date: `YYYY-MM-DD`, `YYYYMMDD`, `YYMMDD` (GS1 AI 17) or a date."""
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})", text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(r"(\d{2})(\d{2})(\d{2})", text)
        if not m:
            raise InvalidIdentifier(f"expiry {text!r}: expected YYYY-MM-DD, YYYYMMDD or YYMMDD")
        y, mo, d = 2000 + int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return date(y, mo, d)
    except ValueError as exc:
        raise InvalidIdentifier(f"expiry {text!r}: {exc}") from None


@dataclass(frozen=True)
class Label:
    """One batch to label: GTIN-14 (check digit verified), lot, and optionally expiry and name."""

    gtin: str
    lot: str
    expiry: date | None = None
    name: str | None = None

    @classmethod
    def make(cls, gtin: str | int, lot: str, expiry: str | date | None = None,
             name: str | None = None) -> Label:
        return cls(normalize_gtin(gtin), check_lot(str(lot).strip()), parse_expiry(expiry),
                   (name or "").strip() or None)

    @property
    def path(self) -> str:
        """The canonical Digital Link path (its keccak256 is the on-chain batch id)."""
        return batch_path(self.gtin, self.lot)

    @property
    def expiry_yymmdd(self) -> str | None:
        return self.expiry.strftime("%y%m%d") if self.expiry else None

    def element_string(self) -> str:
        """The human-readable GS1 element string printed under the code:
        `(01) GTIN (17) YYMMDD (10) LOT` (fixed-length AIs first, the lot last)."""
        parts = [f"(01) {self.gtin}"]
        if self.expiry:
            parts.append(f"(17) {self.expiry_yymmdd}")
        parts.append(f"(10) {self.lot}")
        return " ".join(parts)

    @property
    def stem(self) -> str:
        """File name stem: `{gtin}_{lot}` (lots hold only file-name-safe characters)."""
        return f"{self.gtin}_{self.lot}"


def check_base_url(base_url: str) -> str:
    """`https://host[/prefix]` (or `.../#` for hosts without rewrites), without a trailing /."""
    text = base_url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise InvalidIdentifier(f"base URL {base_url!r}: expected https://host[/prefix]")
    if parts.query:
        raise InvalidIdentifier(f"base URL {base_url!r}: expected no query string")
    if parts.scheme == "http":
        log.warning("base URL %s is not https: phones may warn, and the page's report check "
                    "needs a secure context", text)
    return text.rstrip("/")


def digital_link(base_url: str, label: Label, with_expiry: bool = False) -> str:
    """`{base_url}/01/{GTIN-14}/10/{lot}`, plus `?17=YYMMDD` when `with_expiry` and known."""
    uri = check_base_url(base_url) + label.path
    if with_expiry and label.expiry:
        uri += f"?17={label.expiry_yymmdd}"
    return uri


# ---------------------------------------------------------------------------- images


def make_qr(data: str, level: str = DEFAULT_ERROR_LEVEL, box_size: int = PNG_BOX_PX,
            image_factory: Any = None) -> qrcode.QRCode:
    """A QR code for `data` at error-correction `level`, smallest version that fits."""
    try:
        ec = ERROR_LEVELS[level.upper()]
    except KeyError:
        raise ValueError(f"error-correction level {level!r}: expected one of L, M, Q, H") from None
    code = qrcode.QRCode(error_correction=ec, box_size=box_size, border=QUIET_ZONE,
                         image_factory=image_factory)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    return code


def png_bytes(data: str, level: str = DEFAULT_ERROR_LEVEL) -> bytes:
    img = make_qr(data, level).make_image(fill_color="black", back_color="white")
    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(PNG_DPI, PNG_DPI))
    return buf.getvalue()


def svg_text(data: str, level: str = DEFAULT_ERROR_LEVEL, module_mm: float = MODULE_MM) -> str:
    """An SVG with a white background (quiet zone included), `module_mm` per module."""
    # qrcode's SVG unit is box_size / 10 mm per module.
    code = make_qr(data, level, box_size=round(module_mm * 10),
                   image_factory=qrcode.image.svg.SvgPathFillImage)
    text = code.make_image().to_string(encoding="unicode")
    return text if isinstance(text, str) else text.decode("utf-8")


def _svg_inline(svg: str) -> str:
    return re.sub(r"^<\?xml[^>]*>\s*", "", svg)


# ---------------------------------------------------------------------------- the sheet

SHEET_CSS = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
body { margin: 0; font: 9pt/1.3 "Noto Sans", "Noto Sans CJK SC", "PingFang SC", Arial, sans-serif;
       color: #000; background: #fff; }
h1 { font-size: 11pt; margin: 0 0 4mm; }
.sheet { display: grid; grid-template-columns: repeat(3, 1fr); gap: 4mm; }
.label { border: 0.2mm dashed #888; padding: 3mm; text-align: center; break-inside: avoid;
         page-break-inside: avoid; }
.label svg { display: block; margin: 0 auto 1.5mm; }
.name { font-weight: 700; font-size: 10pt; }
.hri { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; word-break: break-all; }
.uri { font-size: 6.5pt; color: #333; word-break: break-all; }
@media print { h1 { display: none; } .label { border-color: #bbb; } }
"""


@dataclass(frozen=True)
class LabelFiles:
    label: Label
    uri: str
    png: Path
    svg: Path


def label_sheet_html(entries: Sequence[tuple[Label, str, str]],
                     title: str = "milktrace labels") -> str:
    """A print-ready A4 sheet: each code with product name, lot, expiry and the GS1 element
    string under it. `entries` are (label, uri, svg text). Text is HTML-escaped."""
    esc = html.escape
    cells = []
    for label, uri, svg in entries:
        lines = [_svg_inline(svg)]
        if label.name:
            lines.append(f'<div class="name">{esc(label.name)}</div>')
        lines.append(f'<div>LOT {esc(label.lot)}'
                     + (f' · EXP {label.expiry.isoformat()}' if label.expiry else "") + "</div>")
        lines.append(f'<div class="hri">{esc(label.element_string())}</div>')
        lines.append(f'<div class="uri">{esc(uri)}</div>')
        cells.append('<div class="label">' + "".join(lines) + "</div>")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\">"
            f"<title>{esc(title)}</title><style>{SHEET_CSS}</style></head><body>"
            f"<h1>{esc(title)} — {len(cells)} label(s); print at 100 % scale (A4)</h1>"
            f'<div class="sheet">{"".join(cells)}</div></body></html>\n')


def write_labels(labels: Iterable[Label], out_dir: Path, base_url: str = DEFAULT_BASE_URL,
                 with_expiry: bool = False, level: str = DEFAULT_ERROR_LEVEL) -> list[LabelFiles]:
    """PNG and SVG per label, `labels.html` (the sheet) and `labels.json` (the index)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    done: list[LabelFiles] = []
    entries = []
    for label in labels:
        uri = digital_link(base_url, label, with_expiry)
        png = out_dir / f"{label.stem}.png"
        svg = out_dir / f"{label.stem}.svg"
        png.write_bytes(png_bytes(uri, level))
        svg_doc = svg_text(uri, level)
        svg.write_text(svg_doc, encoding="utf-8")
        entries.append((label, uri, svg_doc))
        done.append(LabelFiles(label, uri, png, svg))
    (out_dir / "labels.html").write_text(label_sheet_html(entries), encoding="utf-8")
    index = [{"gtin": f.label.gtin, "lot": f.label.lot,
              "expiry": f.label.expiry.isoformat() if f.label.expiry else None,
              "name": f.label.name, "uri": f.uri, "png": f.png.name, "svg": f.svg.name}
             for f in done]
    (out_dir / "labels.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    return done


# ---------------------------------------------------------------------------- inputs


def read_batches_file(path: Path) -> list[Label]:
    """Labels from a CSV (header: gtin, lot[, expiry][, name]) or a JSON list of objects with
    those keys. Every row is checked; all problems are reported at once."""
    problems: list[Problem] = []
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        problem = Problem(str(path), "file", "", f"cannot read: {exc.strerror}")
        raise ValidationError([problem]) from None
    if Path(path).suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError([Problem(str(path), "file", "", f"not JSON: {exc}")]) from None
        if isinstance(data, dict):
            data = data.get("batches")
        if not isinstance(data, list):
            raise ValidationError([Problem(str(path), "file", "",
                                           'expected a list of {"gtin", "lot", ...} objects')])
        for i, item in enumerate(data):
            if not isinstance(item, dict):
                problems.append(Problem(str(path), f"item {i}", "", "expected an object"))
                continue
            rows.append((f"item {i}", item))
    else:
        reader = csv.DictReader(text.splitlines())
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        missing = [f for f in ("gtin", "lot") if f not in fields]
        if missing:
            raise ValidationError([Problem(str(path), "line 1", "header",
                                           f"missing column(s) {', '.join(missing)}; "
                                           "expected gtin,lot[,expiry][,name]")])
        for n, raw in enumerate(reader, start=2):
            rows.append((f"line {n}", {(k or "").strip().lower(): v for k, v in raw.items()}))
    labels: list[Label] = []
    for where, row in rows:
        try:
            gtin = normalize_gtin(str(row.get("gtin") or ""))
        except InvalidIdentifier as exc:
            problems.append(Problem(str(path), where, "gtin", str(exc)))
            continue
        try:
            lot = check_lot(str(row.get("lot") or "").strip())
        except InvalidIdentifier as exc:
            problems.append(Problem(str(path), where, "lot", str(exc)))
            continue
        try:
            expiry = parse_expiry(row.get("expiry") or None)
        except InvalidIdentifier as exc:
            problems.append(Problem(str(path), where, "expiry", str(exc)))
            continue
        name = row.get("name")
        labels.append(Label(gtin, lot, expiry, str(name).strip() if name else None))
    if problems:
        raise ValidationError(problems)
    if not labels:
        raise ValidationError([Problem(str(path), "file", "", "no batches in the file")])
    return labels


def load_products(path: Path | None) -> dict[str, dict[str, str]]:
    """The product catalogue the page also reads (`config/products.json`):
    `{"GTIN-14": {"zh-CN": "...", "en": "...", "fr": "..."}}`; empty when absent."""
    if path is None or not Path(path).is_file():
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {normalize_gtin(k): v for k, v in data.items() if isinstance(v, dict)}


def product_name(products: dict[str, dict[str, str]], gtin: str, lang: str) -> str | None:
    names = products.get(gtin) or {}
    return names.get(lang) or names.get(lang.split("-")[0]) or names.get("en") or None


def _yyyymmdd(value: int) -> date | None:
    try:
        return date(value // 10000, value // 100 % 100, value % 100)
    except ValueError:
        return None


def labels_from_chain(w3: Any, dep: Any, products: dict[str, dict[str, str]] | None = None,
                      lang: str = "zh-CN") -> list[Label]:
    """A label per batch commissioned in the deployment (BatchCommissioned logs)."""
    from milktrace.chain import registry

    reg = registry(w3, dep)
    logs = reg.events.BatchCommissioned().get_logs(from_block=dep.deploy_block)
    labels = []
    for entry in logs:
        args = entry["args"]
        gtin = str(args["gtin"]).zfill(14)
        labels.append(Label(gtin, args["lot"], _yyyymmdd(int(args["expiryDate"])),
                            product_name(products or {}, gtin, lang)))
    return labels
