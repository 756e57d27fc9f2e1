"""QR labels: the codes decode back to the Digital Link they were made from."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from PIL import Image

from milktrace import qr
from milktrace.cli import main
from milktrace.errors import InvalidGtin, InvalidIdentifier, ValidationError
from milktrace.identifiers import batch_id, parse_digital_link

zxingcpp = pytest.importorskip("zxingcpp")

GTIN = "09506000134352"  # GS1's example GTIN, valid check digit
BASE = "https://id.milktrace.example"


def decode(path) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(path))]


def test_digital_link_is_the_canonical_batch_path_on_the_base_url():
    label = qr.Label.make("9506000134352", "A25-001")
    assert qr.digital_link(BASE + "/", label) == f"{BASE}/01/{GTIN}/10/A25-001"
    assert parse_digital_link(qr.digital_link(BASE, label)).id == batch_id(GTIN, "A25-001")


def test_expiry_goes_in_the_link_as_ai_17_only_when_asked():
    label = qr.Label.make(GTIN, "L1", "2027-03-31")
    assert qr.digital_link(BASE, label) == f"{BASE}/01/{GTIN}/10/L1"
    assert qr.digital_link(BASE, label, with_expiry=True) == f"{BASE}/01/{GTIN}/10/L1?17=270331"


@pytest.mark.parametrize("text", ["2027-03-31", "20270331", "270331"])
def test_expiry_is_read_in_iso_gs1_and_compact_forms(text):
    assert qr.parse_expiry(text) == date(2027, 3, 31)


def test_a_gtin_with_a_wrong_check_digit_is_refused():
    with pytest.raises(InvalidGtin, match="check digit is 3, expected 2"):
        qr.Label.make("09506000134353", "L1")


def test_a_lot_outside_the_digital_link_safe_characters_is_refused():
    with pytest.raises(InvalidIdentifier, match="lot"):
        qr.Label.make(GTIN, "L 1/2")


def test_a_base_url_that_is_not_http_is_refused():
    with pytest.raises(InvalidIdentifier, match="base URL"):
        qr.digital_link("ftp://example.com", qr.Label.make(GTIN, "L1"))


def test_png_labels_decode_to_their_uri(tmp_path):
    labels = [qr.Label.make(GTIN, "A25001", "2027-12-31", "婴儿配方奶粉 1段"),
              qr.Label.make("614141000036", "X.9_z-20-CHARACTERS")]  # GTIN-12 → GTIN-14
    files = qr.write_labels(labels, tmp_path, BASE, with_expiry=True)
    assert [decode(f.png) for f in files] == [[f.uri] for f in files]
    assert files[0].uri == f"{BASE}/01/{GTIN}/10/A25001?17=271231"
    assert files[1].uri == f"{BASE}/01/00614141000036/10/X.9_z-20-CHARACTERS"


@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_every_error_correction_level_decodes(tmp_path, level):
    uri = qr.digital_link(BASE, qr.Label.make(GTIN, "LEVEL"))
    path = tmp_path / "c.png"
    path.write_bytes(qr.png_bytes(uri, level))
    assert decode(path) == [uri]


def test_the_default_print_settings_are_level_q_and_a_four_module_quiet_zone(tmp_path):
    uri = qr.digital_link(BASE, qr.Label.make(GTIN, "A25001"))
    code = qr.make_qr(uri)
    assert code.error_correction == qr.ERROR_LEVELS["Q"] and code.border == 4
    path = tmp_path / "c.png"
    path.write_bytes(qr.png_bytes(uri))
    img = Image.open(path).convert("L")
    quiet = 4 * qr.PNG_BOX_PX
    assert img.size[0] == (code.modules_count + 8) * qr.PNG_BOX_PX
    # the quiet zone is white all round, the finder pattern starts right after it
    assert img.crop((0, 0, img.size[0], quiet)).getextrema() == (255, 255)
    assert img.crop((0, 0, quiet, img.size[1])).getextrema() == (255, 255)
    assert img.getpixel((quiet, quiet)) == 0
    assert round(img.info["dpi"][0]) == qr.PNG_DPI


def test_svg_is_sized_in_millimetres_with_a_white_quiet_zone():
    uri = qr.digital_link(BASE, qr.Label.make(GTIN, "A25001"))
    root = ET.fromstring(qr.svg_text(uri))
    modules = qr.make_qr(uri).modules_count + 2 * qr.QUIET_ZONE
    assert root.get("width") == f"{modules * qr.MODULE_MM:g}mm"
    fills = [e.get("fill") for e in root.iter() if e.get("fill")]
    assert "white" in fills or "#ffffff" in [f.lower() for f in fills]


def test_svg_squares_rasterised_decode_to_the_uri(tmp_path):
    """Each dark module is a square `Mx,yH..V..H..z` in the SVG path: drawing those squares
    on a raster gives a code that decodes to the URI."""
    uri = qr.digital_link(BASE, qr.Label.make(GTIN, "A25001"), with_expiry=False)
    root = ET.fromstring(qr.svg_text(uri))
    size_mm = float(root.get("width").removesuffix("mm"))
    d = next(e.get("d") for e in root.iter() if e.get("d"))
    squares = re.findall(r"M([\d.]+),([\d.]+)H", d)
    scale = 8 / qr.MODULE_MM  # 8 px per module
    img = Image.new("L", (round(size_mm * scale),) * 2, 255)
    for x, y in squares:
        px, py = round(float(x) * scale), round(float(y) * scale)
        img.paste(0, (px, py, px + 8, py + 8))
    img.save(tmp_path / "svg.png")
    assert len(squares) == sum(map(sum, qr.make_qr(uri).get_matrix()))
    assert decode(tmp_path / "svg.png") == [uri]


def test_the_sheet_prints_name_lot_expiry_and_element_string_escaped(tmp_path):
    labels = [qr.Label.make(GTIN, "A25001", "2027-12-31", 'Lait <b>"bébé"</b> & 奶粉')]
    qr.write_labels(labels, tmp_path, BASE)
    sheet = (tmp_path / "labels.html").read_text(encoding="utf-8")
    assert "@page" in sheet and "size: A4" in sheet
    assert "Lait &lt;b&gt;&quot;bébé&quot;&lt;/b&gt; &amp; 奶粉" in sheet
    assert "LOT A25001" in sheet and "EXP 2027-12-31" in sheet
    assert f"(01) {GTIN} (17) 271231 (10) A25001" in sheet
    assert sheet.count("<svg") == 1
    index = json.loads((tmp_path / "labels.json").read_text(encoding="utf-8"))
    assert index[0]["uri"] == f"{BASE}/01/{GTIN}/10/A25001"


def test_a_batches_csv_reports_every_bad_row_at_once(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("gtin,lot,expiry,name\n"
                    f"{GTIN},A1,2027-01-31,Good\n"
                    "09506000134353,A2,,Bad check digit\n"
                    f"{GTIN},bad lot,,Bad lot\n"
                    f"{GTIN},A4,2027-02-30,Bad date\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        qr.read_batches_file(path)
    where = [(p.where, p.field) for p in err.value.problems]
    assert where == [("line 3", "gtin"), ("line 4", "lot"), ("line 5", "expiry")]


def test_a_batches_json_file_gives_labels(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps([{"gtin": GTIN, "lot": "A1", "expiry": "20270131", "name": "N"}]))
    assert qr.read_batches_file(path) == [qr.Label(GTIN, "A1", date(2027, 1, 31), "N")]


def test_the_command_writes_a_label_that_scans(tmp_path, capsys):
    rc = main(["qr", "--gtin", GTIN, "--lot", "A25001", "--expiry", "2027-12-31",
               "--expiry-in-link", "--name", "奶粉", "--base-url", BASE, "--out", str(tmp_path)])
    assert rc == 0
    want = f"{BASE}/01/{GTIN}/10/A25001?17=271231"
    assert decode(tmp_path / f"{GTIN}_A25001.png") == [want]
    assert want in capsys.readouterr().out
    assert (tmp_path / f"{GTIN}_A25001.svg").is_file() and (tmp_path / "labels.html").is_file()


def test_the_command_fails_on_a_bad_gtin(tmp_path, capsys):
    assert main(["qr", "--gtin", "09506000134353", "--lot", "A1", "--out", str(tmp_path)]) == 1
    assert "expected 2" in capsys.readouterr().err
