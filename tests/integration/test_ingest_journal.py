"""The ingest's pieces that need no node: journal, lock, transaction splitting, counting."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from milktrace.identifiers import batch_id, gs1_check_digit
from milktrace.ingest import (
    GAS_MODEL,
    Entry,
    IngestError,
    Journal,
    Variant,
    _missing,
    build_txs,
    model_gas,
)
from milktrace.types import Anchor, AnchorKind, Commission, QualityResult, RecordKind

GTIN = "0376012345678" + str(gs1_check_digit("0376012345678"))


def _quality(i: int) -> QualityResult:
    return QualityResult(batch_id(GTIN, f"L{i % 7}"), i.to_bytes(32, "big"), "MELAMINE", True,
                         50_000, "MGKG", bytes(32), 1_740_787_200 + i)


def _entry(journal: Journal, nonce: int, data: str = "0xabcd", fee: int = 10) -> Entry:
    e = Entry(nonce, data, 100_000, "0x" + "11" * 20, 3)
    v = Variant("0x" + f"{nonce:064x}", "0x02f8", fee, 1)
    e.variants.append(v)
    journal.write_tx(e, v)
    return e


def test_the_journal_reads_back_every_signed_transaction_by_nonce(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    _entry(j, 5)
    _entry(j, 6)
    _entry(j, 6, fee=13)  # a fee bump: same nonce, same calldata
    j.write_note(type="mined", nonce=5, hash="0x1", block=9, gasUsed=1)
    j.sync()
    entries = j.read()
    j.close()
    assert sorted(entries) == [5, 6]
    assert [v.max_fee for v in entries[6].variants] == [10, 13]
    assert entries[5].records == 3 and entries[5].data == "0xabcd"


def test_a_line_cut_by_a_crash_is_ignored(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    _entry(j, 1)
    j.sync()
    j.close()
    with open(path, "a") as fp:
        fp.write('{"type":"tx","nonce":2,"hash":"0x')  # killed while writing
    j = Journal(path)
    assert sorted(j.read()) == [1]
    j.close()


def test_compaction_keeps_only_unused_nonces(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    for n in range(10):
        _entry(j, n)
    j.compact(7)
    _entry(j, 10)
    j.sync()
    assert sorted(j.read()) == [7, 8, 9, 10]
    j.close()


def test_the_journal_lock_refuses_a_second_ingest_with_the_same_key(tmp_path):
    first = Journal(tmp_path / "j.jsonl")
    with pytest.raises(IngestError, match="another ingest with this key is running"):
        Journal(tmp_path / "j.jsonl")
    first.close()
    Journal(tmp_path / "j.jsonl").close()  # free again once the first has finished


def test_journal_lines_hold_no_secret_only_public_transaction_data(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    _entry(j, 1)
    j.sync()
    item = json.loads((tmp_path / "j.jsonl").read_text().splitlines()[0])
    j.close()
    assert set(item) == {"type", "nonce", "hash", "to", "gas", "maxFee", "tip", "records",
                         "data", "raw", "time"}


def test_transactions_keep_record_order_and_respect_the_batch_size():
    records = [_quality(i) for i in range(350)]
    txs = build_txs(records, range(350), batch_size=150, max_gas=30_000_000)
    assert [len(t.indexes) for t in txs] == [150, 150, 50]
    assert [i for t in txs for i in t.indexes] == list(range(350))


def test_transactions_are_split_by_gas_before_the_batch_size():
    records = [Commission(batch_id(GTIN, f"C{i}"), i.to_bytes(32, "big"), GTIN, f"C{i}",
                          20250301, 20260901, 10, "KGM", "3760123450003", 1)
               for i in range(100)]
    txs = build_txs(records, range(100), batch_size=150, max_gas=1_000_000)
    assert len(txs) > 1
    assert all(t.gas <= 1_000_000 * 1.3 for t in txs)
    assert [i for t in txs for i in t.indexes] == list(range(100))


def test_the_gas_model_bounds_every_kind_with_headroom():
    one = [Anchor(batch_id(GTIN, "L1"), bytes(32), AnchorKind.OBJECT, 1)]
    assert model_gas(one) > 21_000 + GAS_MODEL[RecordKind.ANCHOR]
    assert model_gas([_quality(i) for i in range(150)]) > 150 * 8_269  # measured per record


def test_records_count_as_on_chain_once_per_event_there():
    keys = [("Q", b"b", b"e1"), ("Q", b"b", b"e2"), ("Q", b"b", b"e1"), ("Q", b"b", b"e3")]
    assert _missing(keys, Counter({("Q", b"b", b"e1"): 1, ("Q", b"b", b"e3"): 1})) == [1, 2]
    assert _missing(keys, Counter()) == [0, 1, 2, 3]


def test_a_line_cut_by_a_crash_does_not_swallow_the_next_one(tmp_path):
    path = tmp_path / "j.jsonl"
    Journal(path).close()
    path.write_text('{"type":"tx","nonce":1,"hash":"0x')  # killed while writing
    j = Journal(path)
    _entry(j, 2)
    j.sync()
    assert sorted(j.read()) == [2]
    j.compact(0)
    _entry(j, 3)
    j.sync()
    assert sorted(j.read()) == [2, 3]
    j.close()


def test_a_journal_of_another_chain_history_is_set_aside_not_replayed(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    j.bind("0xaaa")
    _entry(j, 0)
    j.sync()
    j.bind("0xaaa")  # the same history: kept
    assert sorted(j.read()) == [0]
    j.compact(0)
    j.bind("0xaaa")
    assert sorted(j.read()) == [0]
    j.bind("0xbbb")  # a dev chain re-created with the same id, address and key
    assert j.read() == {}
    j.close()
    stale = list(tmp_path.glob("j.jsonl.stale-*"))
    assert len(stale) == 1 and '"nonce":0' in stale[0].read_text()


def test_transient_http_errors_are_retried_with_back_off():
    import http.server
    import threading

    from milktrace.chain import Rpc

    answers = [429, 503, 200]
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = answers.pop(0)
            seen.append(status)
            payload = b"busy" if status != 200 else json.dumps(
                [{"jsonrpc": "2.0", "id": c["id"], "result": hex(i)} for i, c in
                 enumerate(body)]).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rpc = Rpc(f"http://127.0.0.1:{server.server_port}", retry_for=10)
        replies = rpc.batch([("eth_blockNumber", []), ("eth_chainId", [])])
    finally:
        server.shutdown()
    assert seen == [429, 503, 200] and rpc.retries == 2
    assert [r.result for r in replies] == ["0x0", "0x1"]
