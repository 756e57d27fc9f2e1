"""What a year of a dairy's exports costs, and how many events per second a chain can carry.

    .venv/bin/python bench/capacity.py [--gas-json FILE] [--eth-usd 3000] [--l1-gwei 5] ...

Measured: gas per record, from `bench/gas.py` (run here on a local Anvil unless --gas-json
gives its saved output), at 100 and 1,000 records per transaction, and the packed calldata
bytes per record (records.pack of the same mix). Assumed (flags, printed in the JSON): the
dairy's year, gas and ETH prices, block gas limits and times. Prints JSON.

The dairy's year (defaults): 200 farms delivering daily (each collection: commissioned,
handed over, accepted), 4 cooperative tank lots a day (commissioned from the farm lots, 2 lab
results, handed over, accepted), 2,000 finished batches (commissioned, 6 lab results, a release,
3 hand-overs and 3 accepts down to the shop, 3 cold-chain summaries, 2 anchored events).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from milktrace.records import pack  # noqa: E402
from milktrace.types import ConditionSummary, QualityResult  # noqa: E402


def measured_gas(path: Path | None) -> dict[str, float]:
    if path is None:
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "gas.py")], check=True,
                             capture_output=True, text=True).stdout
    else:
        out = path.read_text(encoding="utf-8")
    lines = {row["operation"]: row for row in json.loads(out)}
    return {
        "per_record_100": float(lines["records in one tx, 100 per tx"]["gasUsed"]),
        "per_record_1000": float(lines["records in one tx, 1000 per tx"]["gasUsed"]),
        "quality_single_tx": float(lines["quality record, one per tx"]["gasUsed"]),
    }


def packed_bytes_per_record(n: int = 100, batches: int = 10) -> float:
    """Calldata bytes per record of the bench's mix (half lab results, half summaries)."""
    recs = []
    for i in range(n):
        b = bytes([i % batches + 1]) * 32
        e = i.to_bytes(32, "big")
        if i % 2:
            recs.append(QualityResult(b, e, "MELAMINE", True, 10_000, "MGKG", bytes(32), 1))
        else:
            recs.append(ConditionSummary(b, e, bytes(32), 288, 350, 610, False, 1))
    return (len(pack(recs)) + 4 + 64) / n  # selector, offset and length of the bytes argument


def year_records(farms: int, tanks_per_day: int, batches: int) -> dict[str, int]:
    farm = 365 * farms * 3
    tank = 365 * tanks_per_day * 5
    finished = batches * (1 + 6 + 1 + 6 + 3 + 2)
    return {"farmCollections": farm, "tankLots": tank, "finishedBatches": finished,
            "total": farm + tank + finished}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gas-json", type=Path, help="saved output of bench/gas.py")
    p.add_argument("--farms", type=int, default=200)
    p.add_argument("--tanks-per-day", type=int, default=4)
    p.add_argument("--batches", type=int, default=2000)
    p.add_argument("--eth-usd", type=float, default=3000.0)
    p.add_argument("--l1-gwei", type=float, default=5.0, help="mainnet gas price (base + tip)")
    p.add_argument("--l2-gwei", type=float, default=0.01, help="L2 execution gas price")
    p.add_argument("--blob-gwei", type=float, default=1.0,
                   help="L1 blob gas price an L2 pays per calldata byte it posts (1 blob gas/byte)")
    p.add_argument("--l1-gas-limit", type=int, default=45_000_000)
    p.add_argument("--l1-block-s", type=float, default=12.0)
    p.add_argument("--l2-gas-limit", type=int, default=60_000_000)
    p.add_argument("--l2-block-s", type=float, default=2.0)
    a = p.parse_args(argv)

    gas = measured_gas(a.gas_json)
    per = gas["per_record_100"]
    size = packed_bytes_per_record()
    year = year_records(a.farms, a.tanks_per_day, a.batches)
    year_gas = year["total"] * per
    l1_eth = year_gas * a.l1_gwei * 1e-9
    l2_eth = year_gas * a.l2_gwei * 1e-9 + year["total"] * size * a.blob_gwei * 1e-9
    single_tx_eth = year["total"] * gas["quality_single_tx"] * a.l1_gwei * 1e-9
    report = {
        "measured": {"gasPerRecord100PerTx": per, "gasPerRecord1000PerTx": gas["per_record_1000"],
                     "gasOneRecordPerTx": gas["quality_single_tx"],
                     "calldataBytesPerRecord": round(size, 1)},
        "assumed": {k: v for k, v in vars(a).items() if k != "gas_json"},
        "dairyYear": {"records": year, "gas": round(year_gas),
                      "mainnet": {"eth": round(l1_eth, 3), "usd": round(l1_eth * a.eth_usd)},
                      "mainnetEachRecordAloneAsALabResultTx": {"eth": round(single_tx_eth, 3),
                                                "usd": round(single_tx_eth * a.eth_usd)},
                      "l2": {"eth": round(l2_eth, 5), "usd": round(l2_eth * a.eth_usd, 2)},
                      "usdPerFinishedBatch": {
                          "mainnet": round(l1_eth * a.eth_usd / a.batches, 2),
                          "l2": round(l2_eth * a.eth_usd / a.batches, 4)}},
        "chainCapacity": {
            "mainnetRecordsPerSecond": round(a.l1_gas_limit / a.l1_block_s / per),
            "l2RecordsPerSecond": round(a.l2_gas_limit / a.l2_block_s / per),
            "mainnetDairiesLikeThis": round(a.l1_gas_limit / a.l1_block_s * 365 * 86400 / year_gas),
            "l2DairiesLikeThis": round(a.l2_gas_limit / a.l2_block_s * 365 * 86400 / year_gas)},
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
