"""`milktrace qr --from-chain`: a label for every batch commissioned in the deployment."""

from __future__ import annotations

import json

import pytest

from milktrace.cli import main


def test_qr_from_chain_labels_every_commissioned_batch(site, tmp_path, capsys):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    dep = site.tmp / "deployment.json"
    rc = main(["qr", "--from-chain", "--rpc", site.rpc, "--deployment", str(dep),
               "--products", str(site.tmp / "products.json"), "--lang", "en",
               "--base-url", "https://id.milktrace.example", "--expiry-in-link",
               "--out", str(tmp_path)])
    assert rc == 0
    index = json.loads((tmp_path / "labels.json").read_text(encoding="utf-8"))
    made = {(e["gtin"], e["lot"]) for e in index}
    want = {(b.gtin, b.lot) for name, b in site.scenario.batches.items() if name != "unknown"}
    assert want <= made
    normal = site.scenario.batches["normal"]
    entry = next(e for e in index if e["lot"] == normal.lot)
    assert entry["name"] == "Infant formula, ready to feed, stage 1, 200 mL"
    assert entry["expiry"] == "2027-09-14"
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / entry["png"]))]
    assert decoded == [f"https://id.milktrace.example{normal.path}?17=270914"]
    sheet = (tmp_path / "labels.html").read_text(encoding="utf-8")
    assert sheet.count('class="label"') == len(index)
