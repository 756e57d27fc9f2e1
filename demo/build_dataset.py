"""Writes the demo data set under demo/data/: Normandy farms to a Shanghai shelf.

Deterministic: running it again writes the same bytes. The files are committed; this script
is how they were made. Each party's file is in the format its own system would export:

  farms/*.csv                 farm management software (milktrace CSV)
  cooperative/collection.jsonld   the cooperative's collection system (EPCIS 2.0)
  plant/*.jsonld              the Méautis plant's MES (EPCIS 2.0)
  lab/lims-export.csv         the laboratory's LIMS (milktrace CSV) + reports/*.pdf
  road-carrier/*.csv          the road carrier's TMS and its reefer truck's logger
  sea-carrier/voyage.jsonld   the sea carrier's reefer container (EPCIS 2.0 with sensor data)
  importer/shanghai.jsonld    the importer's WMS (EPCIS 2.0, Chinese names)
  retailer/receipts.csv       the retailer's shop system (milktrace CSV, Chinese text)
  regulator/recall.jsonld     the food-safety regulator's recall notice (EPCIS 2.0)

cast.json names each party (keystore name, display name, GLN, country, roles), steps.json
says in which order the demo ingests the files and with whose key, products.json names the
products in Chinese, English and French for the page and the labels.

    .venv/bin/python demo/build_dataset.py
"""

# ruff: noqa: E501  (the cast and the story are data tables; long rows read best)
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data"
CET = timezone(timedelta(hours=2))  # CEST in early October
CST = timezone(timedelta(hours=8))  # Shanghai


def check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def gln(body12: str) -> str:
    return body12 + check_digit(body12)


def gtin(body13: str) -> str:
    return body13 + check_digit(body13)


# ------------------------------------------------------------------ the cast

CAST = [
    # key name, display name, GLN, country, roles, place
    ("farm-haye", "GAEC de la Haye", gln("376012340001"), "FR", ["producer"], "Carentan-les-Marais"),
    ("farm-marais", "Ferme des Marais", gln("376012340002"), "FR", ["producer"], "Saint-Hilaire-Petitville"),
    ("farm-montcastre", "EARL du Mont Castre", gln("376012340003"), "FR", ["producer"], "Lithaire"),
    ("coop", "Coopérative Laitière du Bocage — collecte", gln("376012350001"), "FR", ["producer", "carrier"], "Saint-Lô"),
    ("plant", "Laiterie de Méautis", gln("376012360001"), "FR", ["producer"], "Méautis"),
    ("lab", "Laboratoire Normand d'Analyses Laitières (COFRAC)", gln("376012370001"), "FR", ["lab"], "Caen"),
    ("road", "Transports Frigorifiques du Cotentin", gln("376012380001"), "FR", ["carrier"], "Le Havre"),
    ("sea", "Compagnie Maritime Atlantique-Orient", gln("376012390001"), "FR", ["carrier"], "Le Havre → 上海"),
    ("importer", "上海晨曦乳品进口有限公司", gln("693012340001"), "CN", ["retailer"], "上海 浦东"),
    ("retailer", "宝贝之家母婴店（静安店）", gln("693012350001"), "CN", ["retailer"], "上海 静安"),
    ("regulator", "DDPP de la Manche — sécurité sanitaire des aliments", gln("376012399001"), "FR", ["regulator"], "Saint-Lô"),
]
G = {key: g for key, _, g, *_ in CAST}

RAW_MILK = gtin("0376012340010")  # raw cow's milk, farm collection
POOLED_MILK = gtin("0376012350017")  # pooled raw milk, cooperative tank
INFANT_MILK = gtin("0376012360016")  # liquid growing-up milk for children, 6 × 1 L

PRODUCTS = {
    RAW_MILK: {"zh-CN": "生牛乳（牧场收集）", "en": "Raw cow's milk (farm collection)",
               "fr": "Lait cru de vache (collecte à la ferme)"},
    POOLED_MILK: {"zh-CN": "生牛乳（合作社奶罐）", "en": "Raw milk, cooperative tank",
                  "fr": "Lait cru, tank de la coopérative"},
    INFANT_MILK: {"zh-CN": "诺曼底儿童液态奶 1–3 岁 6×1 升",
                  "en": "Normandy liquid growing-up milk, 1–3 years, 6 × 1 L",
                  "fr": "Lait de croissance liquide de Normandie, 1–3 ans, 6 × 1 L"},
}


def dl(g: str, lot: str) -> str:
    return f"https://id.gs1.org/01/{g}/10/{lot}"


def loc(g: str) -> dict:
    return {"id": f"https://id.gs1.org/414/{g}"}


def party(g: str) -> str:
    return f"https://id.gs1.org/417/{g}"


def t(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def tz(dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def document(events: list[dict], created: datetime) -> dict:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                     {"mt": "urn:milktrace:epcis:"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": t(created),
        "epcisBody": {"eventList": events},
    }


def base(kind: str, when: datetime, biz: str, disposition: str | None, where: str, **more) -> dict:
    ev = {"type": kind, "eventTime": t(when), "eventTimeZoneOffset": tz(when)}
    if kind == "ObjectEvent":
        ev["action"] = more.pop("action", "OBSERVE")
    ev["bizStep"] = biz
    if disposition:
        ev["disposition"] = disposition
    ev["readPoint"] = loc(G[where])
    ev["bizLocation"] = loc(G[where])
    ev.update(more)
    return ev


def shipping(when: datetime, frm: str, to: str, lots: list[tuple[str, str, int, str]]) -> dict:
    return base("ObjectEvent", when, "shipping", "in_transit", frm,
                quantityList=[{"epcClass": dl(g, lot), "quantity": q, "uom": u} for g, lot, q, u in lots],
                sourceList=[{"type": "owning_party", "source": party(G[frm])},
                            {"type": "possessing_party", "source": party(G[frm])}],
                destinationList=[{"type": "possessing_party", "destination": party(G[to])}])


def receiving(when: datetime, frm: str, at: str, lots: list[tuple[str, str, int, str]]) -> dict:
    return base("ObjectEvent", when, "receiving", "in_progress", at,
                quantityList=[{"epcClass": dl(g, lot), "quantity": q, "uom": u} for g, lot, q, u in lots],
                sourceList=[{"type": "possessing_party", "source": party(G[frm])}],
                destinationList=[{"type": "possessing_party", "destination": party(G[at])}])


def transformation(when: datetime, site: str, inputs: list[tuple[str, str, int, str]],
                   output: tuple[str, str, int, str], production: str, expiry: str) -> dict:
    g, lot, q, u = output
    return {
        "type": "TransformationEvent", "eventTime": t(when), "eventTimeZoneOffset": tz(when),
        "inputQuantityList": [{"epcClass": dl(ig, il), "quantity": iq, "uom": iu}
                              for ig, il, iq, iu in inputs],
        "outputQuantityList": [{"epcClass": dl(g, lot), "quantity": q, "uom": u}],
        "bizStep": "commissioning", "disposition": "active",
        "readPoint": loc(G[site]), "bizLocation": loc(G[site]),
        "ilmd": {"cbvmda:productionDate": production, "cbvmda:itemExpirationDate": expiry},
    }


def status(when: datetime, who: str, lots: list[tuple[str, str]], value: str, reason: str,
           notice_sha: str | None = None, biz: str = "holding") -> dict:
    ev = base("ObjectEvent", when, biz, "recalled" if value == "recalled" else None, who,
              quantityList=[{"epcClass": dl(g, lot)} for g, lot in lots])
    ev["mt:status"] = value
    ev["mt:reason"] = reason
    if notice_sha:
        ev["mt:noticeSha256"] = notice_sha
    if value == "recalled":
        ev["persistentDisposition"] = {"set": ["recalled"]}
    return ev


# ------------------------------------------------------------------ the story

D = datetime
FARM_LOTS = {  # farm → lots collected on 2 October (litres)
    "farm-haye": [("F1-261002", 4200)],
    "farm-marais": [("F2-261002A", 3100), ("F2-261002B", 2900)],
    "farm-montcastre": [("F3-261002", 3800)],
}
T1, T2 = "T1-261002", "T2-261002"
B1, B2, B3 = "L2610-04A", "L2610-04B", "L2610-04C"
LITRES = "LTR"
PACKS = "H87"  # 6 × 1 L packs (pieces)


def pdf_report(lines: list[str]) -> bytes:
    """A small, valid one-page PDF with the report's text (Helvetica, WinAnsi)."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = "BT /F1 11 Tf 56 790 Td 14 TL " + " ".join(f"({esc(line)}) '" for line in lines) + " ET"
    stream = text.encode("latin-1", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


# Lab panels: (test code, value, unit, passed). Limits: melamine 0.15 mg/kg (infant food),
# aflatoxin M1 0.025 µg/kg (infant), Cronobacter absent in 10 g, Enterobacteriaceae absent in 10 g.
RAW_PANEL = [("MELAMINE", "0.02", "MGKG", True), ("AFLATOXIN_M1", "0.008", "UGKG", True)]


def batch_panel(cronobacter_found: bool) -> list[tuple[str, str, str, bool]]:
    return [
        ("MELAMINE", "0.01", "MGKG", True),
        ("AFLATOXIN_M1", "0.005", "UGKG", True),
        ("CRONOBACTER", "1" if cronobacter_found else "0", "CFU10G", not cronobacter_found),
        ("ENTEROBACTERIA", "0", "CFU10G", True),
        ("PROTEIN", "3.3", "G100ML", True),
        ("FAT", "3.1", "G100ML", True),
    ]


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)


def write_json(path: Path, data: object) -> None:
    write(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def main() -> None:
    oct2 = D(2026, 10, 2, tzinfo=CET)
    # --- cooperative: receives the farm lots, pools them into two tanks, ships to the plant
    coop_events = []
    for farm, lots in FARM_LOTS.items():
        coop_events.append(receiving(oct2.replace(hour=9) + timedelta(minutes=20 * len(coop_events)),
                                     farm, "coop", [(RAW_MILK, lot, q, LITRES) for lot, q in lots]))
    coop_events.append(transformation(
        oct2.replace(hour=11), "coop",
        [(RAW_MILK, "F1-261002", 4200, LITRES), (RAW_MILK, "F2-261002A", 3100, LITRES)],
        (POOLED_MILK, T1, 7300, LITRES), "2026-10-02", "2026-10-05"))
    coop_events.append(transformation(
        oct2.replace(hour=11, minute=30), "coop",
        [(RAW_MILK, "F2-261002B", 2900, LITRES), (RAW_MILK, "F3-261002", 3800, LITRES)],
        (POOLED_MILK, T2, 6700, LITRES), "2026-10-02", "2026-10-05"))
    coop_events.append(shipping(oct2.replace(hour=13), "coop", "plant",
                                [(POOLED_MILK, T1, 7300, LITRES), (POOLED_MILK, T2, 6700, LITRES)]))
    write_json(OUT / "cooperative" / "collection.jsonld", document(coop_events, oct2.replace(hour=14)))

    # --- plant, export 1: receives the tanks
    plant1 = [receiving(oct2.replace(hour=15), "coop", "plant",
                        [(POOLED_MILK, T1, 7300, LITRES), (POOLED_MILK, T2, 6700, LITRES)])]
    write_json(OUT / "plant" / "1-reception.jsonld", document(plant1, oct2.replace(hour=16)))

    # --- plant, export 2: UHT processing and filling, 4 October
    oct4 = D(2026, 10, 4, tzinfo=CET)
    plant2 = [
        transformation(oct4.replace(hour=6), "plant", [(POOLED_MILK, T1, 4000, LITRES)],
                       (INFANT_MILK, B1, 640, PACKS), "2026-10-04", "2027-04-04"),
        transformation(oct4.replace(hour=8), "plant", [(POOLED_MILK, T2, 6700, LITRES)],
                       (INFANT_MILK, B2, 1100, PACKS), "2026-10-04", "2027-04-04"),
        transformation(oct4.replace(hour=10), "plant", [(POOLED_MILK, T1, 3300, LITRES)],
                       (INFANT_MILK, B3, 540, PACKS), "2026-10-04", "2027-04-04"),
    ]
    write_json(OUT / "plant" / "2-production.jsonld", document(plant2, oct4.replace(hour=18)))

    # --- lab reports (PDF) and the LIMS export (CSV, written once the CSV columns are known)
    samples = [(POOLED_MILK, T1, RAW_PANEL, oct2.replace(hour=16)),
               (POOLED_MILK, T2, RAW_PANEL, oct2.replace(hour=16, minute=30)),
               (INFANT_MILK, B1, batch_panel(False), D(2026, 10, 6, 10, tzinfo=CET)),
               (INFANT_MILK, B2, batch_panel(False), D(2026, 10, 6, 11, tzinfo=CET)),
               (INFANT_MILK, B3, batch_panel(True), D(2026, 10, 6, 12, tzinfo=CET))]
    for g, lot, panel, when in samples:
        lines = ["Laboratoire Normand d'Analyses Laitieres - accreditation COFRAC 1-0000 (demo)",
                 f"Rapport d'essai {lot}   date {when.date().isoformat()}",
                 f"Echantillon: GTIN {g}, lot {lot}", ""]
        lines += [f"{code:<14} {value:>8} {unit:<8} {'CONFORME' if ok else 'NON CONFORME'}"
                  for code, value, unit, ok in panel]
        write(OUT / "lab" / "reports" / f"{lot}.pdf", pdf_report(lines))

    # --- plant, export 3: releases, the Cronobacter recall, shipping to the road carrier
    oct7 = D(2026, 10, 7, tzinfo=CET)
    recall_notice = "Rappel du lot L2610-04C : Cronobacter sakazakii detecte (rapport L2610-04C)."
    write(OUT / "plant" / "notices" / "recall-L2610-04C.txt", recall_notice + "\n")
    notice_sha = hashlib.sha256((recall_notice + "\n").encode()).hexdigest()
    plant3 = [
        status(oct7.replace(hour=8), "plant", [(INFANT_MILK, B1)], "released", "LAB_CONFORM"),
        status(oct7.replace(hour=8, minute=5), "plant", [(INFANT_MILK, B2)], "released", "LAB_CONFORM"),
        status(oct7.replace(hour=8, minute=10), "plant", [(INFANT_MILK, B3)], "quarantined", "CRONOBACTER"),
        status(oct7.replace(hour=9), "plant", [(INFANT_MILK, B3)], "recalled", "CRONOBACTER", notice_sha),
        {"type": "AggregationEvent", "eventTime": t(oct7.replace(hour=10)), "eventTimeZoneOffset": "+02:00",
         "parentID": "https://id.gs1.org/00/" + "3376012360" + "0000012" + check_digit("3376012360" + "0000012"),
         "childQuantityList": [{"epcClass": dl(INFANT_MILK, B1), "quantity": 640, "uom": PACKS},
                               {"epcClass": dl(INFANT_MILK, B2), "quantity": 1100, "uom": PACKS}],
         "action": "ADD", "bizStep": "packing", "disposition": "in_progress",
         "readPoint": loc(G["plant"]), "bizLocation": loc(G["plant"])},
        shipping(oct7.replace(hour=14), "plant", "road",
                 [(INFANT_MILK, B1, 640, PACKS), (INFANT_MILK, B2, 1100, PACKS)]),
    ]
    write_json(OUT / "plant" / "3-release-and-dispatch.jsonld", document(plant3, oct7.replace(hour=18)))

    # --- sea carrier: reefer container, readings every 5 minutes, one excursion
    board = D(2026, 10, 9, 6, tzinfo=CET)
    arrive = D(2026, 11, 12, 16, tzinfo=CST)
    readings = []
    when = board
    i = 0
    while when < arrive:
        base_c = 4.2 + 0.5 * math.sin(i / 120.0) + 0.2 * math.sin(i / 21.0)
        # transshipment at Port Klang, 29 Oct: the reefer is unplugged for ~2 h
        excursion = D(2026, 10, 29, 13, tzinfo=CET)
        minutes = (when - excursion).total_seconds() / 60
        if 0 <= minutes <= 120:
            base_c += 5.4 * math.sin(math.pi * minutes / 120)
        readings.append({"type": "gs1:Temperature", "value": round(base_c, 1), "uom": "CEL",
                         "time": t(when.astimezone(UTC)).replace("+00:00", "Z")})
        when += timedelta(minutes=5)
        i += 1
    lots = [(INFANT_MILK, B1, 640, PACKS), (INFANT_MILK, B2, 1100, PACKS)]
    sea = [
        receiving(board, "road", "sea", lots),
        {**base("ObjectEvent", arrive - timedelta(hours=2), "sensor_reporting", "in_transit", "sea",
                quantityList=[{"epcClass": dl(g, lot), "quantity": q, "uom": u} for g, lot, q, u in lots]),
         "sensorElementList": [{"sensorMetadata": {"deviceID": "urn:epc:id:giai:3760123900.REEFER-MSCU4471120",
                                                   "startTime": readings[0]["time"], "endTime": readings[-1]["time"]},
                                "sensorReport": readings}],
         "mt:minTemperature": 2, "mt:maxTemperature": 8},
        shipping(arrive, "sea", "importer", lots),
    ]
    write_json(OUT / "sea-carrier" / "voyage.jsonld", document(sea, arrive + timedelta(hours=1)))

    # --- importer in Shanghai: receives, customs clearance (anchored), ships to the shop
    nov13 = D(2026, 11, 13, 10, tzinfo=CST)
    importer = [
        receiving(nov13, "sea", "importer", lots),
        # customs clearance in the bonded warehouse: anchored by its hash
        base("ObjectEvent", nov13 + timedelta(days=1), "storing", "sellable_not_accessible", "importer",
             quantityList=[{"epcClass": dl(g, lot)} for g, lot, _, _ in lots]),
        shipping(D(2026, 11, 16, 9, tzinfo=CST), "importer", "retailer", [(INFANT_MILK, B1, 640, PACKS)]),
        shipping(D(2026, 11, 16, 9, 30, tzinfo=CST), "importer", "retailer", [(INFANT_MILK, B2, 1100, PACKS)]),
    ]
    write_json(OUT / "importer" / "shanghai.jsonld", document(importer, D(2026, 11, 16, 12, tzinfo=CST)))

    # --- regulator: farm lot F3 recalled (aflatoxin M1 found on a retained sample)
    notice = ("DDPP 50 - avis de rappel : lot de lait cru F3-261002 (EARL du Mont Castre), "
              "aflatoxine M1 au-dessus de la limite sur echantillon conserve.\n")
    write(OUT / "regulator" / "notices" / "recall-F3-261002.txt", notice)
    reg = [status(D(2026, 11, 18, 15, tzinfo=CET), "regulator", [(RAW_MILK, "F3-261002")], "recalled",
                  "AFLATOXIN_M1", hashlib.sha256(notice.encode()).hexdigest())]
    write_json(OUT / "regulator" / "recall.jsonld", document(reg, D(2026, 11, 18, 16, tzinfo=CET)))

    write_csv_parties(oct2, oct7, samples)

    write_json(OUT / "cast.json", [
        {"key": k, "name": n, "gln": g, "country": c, "roles": r, "place": p}
        for k, n, g, c, r, p in CAST])
    write_json(OUT / "products.json", PRODUCTS)
    write_json(OUT / "steps.json", STEPS)
    # the audit's release rule (melamine and microbiology before leaving the plant) covers the
    # finished infant milk; raw milk is tested when the plant receives it
    write(OUT / "audit-policy.yaml", "release:\n  applies_to: gtins\n"
          f"  gtins: [\"{INFANT_MILK}\"]\n")
    print(f"wrote the demo data set under {OUT}")


STEPS = [  # (whose key, file) in the order the demo ingests them
    {"key": "farm-haye", "file": "farms/gaec-de-la-haye.csv"},
    {"key": "farm-marais", "file": "farms/ferme-des-marais.csv"},
    {"key": "farm-montcastre", "file": "farms/earl-du-mont-castre.csv"},
    {"key": "coop", "file": "cooperative/collection.jsonld"},
    {"key": "plant", "file": "plant/1-reception.jsonld"},
    {"key": "lab", "file": "lab/lims-raw-milk.csv"},
    {"key": "plant", "file": "plant/2-production.jsonld"},
    {"key": "lab", "file": "lab/lims-finished-product.csv"},
    {"key": "plant", "file": "plant/3-release-and-dispatch.jsonld"},
    {"key": "road", "file": "road-carrier/trip-meautis-le-havre.csv"},
    {"key": "sea", "file": "sea-carrier/voyage.jsonld"},
    {"key": "importer", "file": "importer/shanghai.jsonld"},
    {"key": "retailer", "file": "retailer/receipts.csv"},
    {"key": "regulator", "file": "regulator/recall.jsonld"},
]


def csv_text(header: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow(row)
    return buf.getvalue()


def write_csv_parties(oct2: datetime, oct7: datetime, samples: list) -> None:
    """Farms, the LIMS, the road carrier and the shop export CSV (docs/csv-format.md)."""
    # --- farms: the morning's collection lot, handed to the cooperative's tanker
    farm_files = {"farm-haye": "gaec-de-la-haye.csv", "farm-marais": "ferme-des-marais.csv",
                  "farm-montcastre": "earl-du-mont-castre.csv"}
    header = ["kind", "event_time", "gtin", "lot", "production_date", "expiry_date", "quantity",
              "uom", "site_gln", "to_gln", "from_gln", "product_name", "note"]
    for n, (farm, lots) in enumerate(FARM_LOTS.items()):
        rows = []
        for k, (lot, litres) in enumerate(lots):
            milked = oct2.replace(hour=6, minute=15 * k)
            rows.append({"kind": "commission", "event_time": t(milked), "gtin": RAW_MILK, "lot": lot,
                         "production_date": "2026-10-02", "expiry_date": "2026-10-05",
                         "quantity": litres, "uom": LITRES, "site_gln": G[farm],
                         "product_name": "Lait cru de vache", "note": f"tank {k + 1}, traite du matin"})
        for lot, _litres in lots:
            rows.append({"kind": "ship", "event_time": t(oct2.replace(hour=7, minute=30 + 10 * n)),
                         "gtin": RAW_MILK, "lot": lot, "to_gln": G["coop"], "from_gln": G[farm],
                         "note": "collecte par le camion de la coopérative"})
        write(OUT / "farms" / farm_files[farm], csv_text(header, rows))

    # --- the lab's LIMS: one row per result, the report PDF beside the export
    header = ["kind", "event_time", "gtin", "lot", "test_code", "value", "uom", "result",
              "report_file", "lab_name", "note"]
    raw, finished = [], []
    for g, lot, panel, when in samples:
        for j, (code, value, unit, ok) in enumerate(panel):
            row = {"kind": "quality", "event_time": t(when + timedelta(minutes=j)), "gtin": g,
                   "lot": lot, "test_code": code, "value": value, "uom": unit,
                   "result": "pass" if ok else "fail", "report_file": f"reports/{lot}.pdf",
                   "lab_name": "Laboratoire Normand d'Analyses Laitières",
                   "note": "" if ok else "Cronobacter sakazakii détecté — lot bloqué"}
            (raw if g == POOLED_MILK else finished).append(row)
    write(OUT / "lab" / "lims-raw-milk.csv", csv_text(header, raw))
    write(OUT / "lab" / "lims-finished-product.csv", csv_text(header, finished))

    # --- the road carrier: pick-up at Méautis, the reefer truck's logger, drop at Le Havre
    start = oct7.replace(hour=15)
    logger = ["time,temperature_c,sensor"]
    for i in range(0, 5 * 12 + 1):  # every 5 minutes for 5 hours
        when = start + timedelta(minutes=5 * i)
        temp = 4.0 + 0.6 * math.sin(i / 6.0)
        logger.append(f"{t(when)},{temp:.1f},TFC-truck-12")
    write(OUT / "road-carrier" / "logger-TFC-truck-12.csv", "\n".join(logger) + "\n")
    header = ["kind", "event_time", "gtin", "lot", "to_gln", "from_gln", "readings_file", "note"]
    rows = []
    for lot in (B1, B2):
        rows.append({"kind": "receive", "event_time": t(start), "gtin": INFANT_MILK, "lot": lot,
                     "from_gln": G["plant"], "note": "enlèvement quai 3, Méautis"})
    for lot in (B1, B2):
        rows.append({"kind": "condition", "event_time": t(start + timedelta(hours=5)),
                     "gtin": INFANT_MILK, "lot": lot, "readings_file": "logger-TFC-truck-12.csv",
                     "note": "camion frigorifique 12, Méautis → Le Havre"})
    for lot in (B1, B2):
        rows.append({"kind": "ship", "event_time": t(D(2026, 10, 9, 5, tzinfo=CET)), "gtin": INFANT_MILK,
                     "lot": lot, "to_gln": G["sea"], "from_gln": G["road"],
                     "note": "remis au terminal conteneurs, Le Havre"})
    write(OUT / "road-carrier" / "trip-meautis-le-havre.csv", csv_text(header, rows))

    # --- the shop in Shanghai: goods received (Chinese notes)
    header = ["kind", "event_time", "gtin", "lot", "from_gln", "note"]
    rows = [{"kind": "receive", "event_time": t(D(2026, 11, 16, 15, tzinfo=CST)), "gtin": INFANT_MILK,
             "lot": B1, "from_gln": G["importer"], "note": "到货验收合格，上架"},
            {"kind": "receive", "event_time": t(D(2026, 11, 16, 15, 20, tzinfo=CST)), "gtin": INFANT_MILK,
             "lot": B2, "from_gln": G["importer"], "note": "到货验收合格，上架"}]
    write(OUT / "retailer" / "receipts.csv", csv_text(header, rows))


if __name__ == "__main__":
    main()
