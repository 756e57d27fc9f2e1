"""`milktrace ingest`: dry run, refusals before sending (validation, roles, unknown key),
progress and summary, two producers at once, one ingest per key at a time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

import pytest
from capping_proxy import CappingProxy
from integration_support import PASSWORD, on_chain

from milktrace import keys, orgs
from milktrace.chain import Rpc
from milktrace.ingest import KIND_EVENT
from milktrace.plan import plan_files
from milktrace.types import Role


def planned_keys(*paths) -> Counter:
    return Counter((KIND_EVENT[p.record.kind], p.record.batch_id, p.record.event_id)
                   for p in plan_files(list(paths)))


def ingest(chain, cli, actor, *files, extra=(), env=None):
    return cli(chain, "ingest", *map(str, files), "--deployment", str(chain.manifest),
               "--key", str(actor.keystore), *extra, env=env)


@pytest.fixture
def fresh(chain_factory, node, tmp_path):
    """A registry of its own on the module's node (journals and nonces apart)."""
    return chain_factory(node, tmp_path / "chain")


def test_dry_run_prints_the_plan_and_sends_nothing(fresh, cli, write_producer_csv, tmp_path):
    csv = tmp_path / "export.csv"
    n = write_producer_csv(csv, fresh.actors["producer"].gln, 60)
    producer = fresh.actors["producer"]
    nonce = fresh.w3.eth.get_transaction_count(producer.address)
    proc = ingest(fresh, cli, producer, csv, extra=["--dry-run", "--json"])
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["dryRun"] is True and plan["records"] == n and plan["skipped"] == 0
    assert plan["byKind"] == {"commission": 60, "condition": 60, "anchor": 60, "status": 60}
    assert plan["transactions"] == 2  # 240 records, 150 per transaction
    assert plan["estimatedByNode"] >= 1 and plan["gas"] > 0  # the first call is estimable
    assert plan["gasMethod"] in ("eth_estimateGas", "eth_estimateGas+model")
    text = ingest(fresh, cli, producer, csv, extra=["--dry-run", "--batch-size", "50"])
    assert "transactions: 5 (up to 50 records each)" in text.stdout
    assert "commission" in text.stdout and "nothing was sent" in text.stdout
    assert fresh.w3.eth.get_transaction_count(producer.address) == nonce
    assert not on_chain(fresh)


def test_dry_run_without_a_node_plans_offline_with_the_gas_model(cli, write_producer_csv,
                                                                    tmp_path):
    csv = tmp_path / "export.csv"
    write_producer_csv(csv, "3760123450003", 10)
    proc = cli(None, "ingest", str(csv), "--dry-run", "--json",
               env={"MILKTRACE_RPC": "http://127.0.0.1:9"})
    assert proc.returncode == 0, proc.stderr
    assert "planning offline" in proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["gasMethod"] == "model" and plan["skipped"] is None
    assert plan["records"] == 40 and plan["transactions"] == 1 and plan["gas"] > 40 * 5_000


def test_invalid_input_is_reported_whole_and_nothing_is_sent(fresh, cli, write_producer_csv,
                                                             tmp_path):
    producer = fresh.actors["producer"]
    good = tmp_path / "good.csv"
    write_producer_csv(good, producer.gln, 5)
    bad = tmp_path / "bad.csv"
    lines = good.read_text().splitlines()
    lines[1] = lines[1].replace("2026-09-01", "2024-01-01")  # expiry before production
    lines[5] = lines[5].replace("03760123456784", "03760123456785")  # wrong check digit
    bad.write_text("\n".join(lines) + "\n")
    proc = ingest(fresh, cli, producer, good, bad)
    assert proc.returncode == 1
    assert "nothing was sent" in proc.stderr
    assert f"{bad}: line 2: expiry_date" in proc.stderr
    assert f"{bad}: line 6: gtin" in proc.stderr
    as_json = ingest(fresh, cli, producer, good, bad, extra=["--json"])
    assert as_json.returncode == 1
    out = json.loads(as_json.stdout)
    assert out["sent"] is False
    assert {(p["where"], p["field"]) for p in out["problems"]} >= {("line 2", "expiry_date"),
                                                                    ("line 6", "gtin")}
    assert not on_chain(fresh)


def test_a_key_without_the_needed_role_is_refused_before_anything_is_sent(
        fresh, cli, write_producer_csv, tmp_path):
    lab = fresh.actors["lab"]
    csv = tmp_path / "export.csv"
    write_producer_csv(csv, lab.gln, 3)
    nonce = fresh.w3.eth.get_transaction_count(lab.address)
    proc = ingest(fresh, cli, lab, csv)
    assert proc.returncode == 1
    assert "needs the producer role" in proc.stderr
    assert "Laboratoire Qualité Lait has lab" in proc.stderr
    assert f"{csv}: line 2" in proc.stderr
    assert fresh.w3.eth.get_transaction_count(lab.address) == nonce
    assert not on_chain(fresh)


def test_a_key_whose_role_was_revoked_is_refused_at_once(fresh, cli, write_producer_csv,
                                                          tmp_path):
    producer = fresh.actors["producer"]
    orgs.revoke(fresh.w3, fresh.dep, fresh.admin, producer.address, Role.PRODUCER)
    csv = tmp_path / "export.csv"
    write_producer_csv(csv, producer.gln, 2)
    proc = ingest(fresh, cli, producer, csv)
    assert proc.returncode == 1
    assert "needs the producer role" in proc.stderr and "has no role" in proc.stderr
    assert not on_chain(fresh)


def test_a_key_that_is_not_an_admitted_organisation_is_refused(fresh, cli, write_producer_csv,
                                                               tmp_path):
    stranger = fresh.actors["stranger"]
    csv = tmp_path / "export.csv"
    write_producer_csv(csv, stranger.gln, 2)
    proc = ingest(fresh, cli, stranger, csv)
    assert proc.returncode == 1
    assert f"key {stranger.address} is not an admitted organisation" in proc.stderr
    assert "nothing was sent" in proc.stderr
    assert fresh.w3.eth.get_transaction_count(stranger.address) == 0


def test_ingest_needs_a_key(fresh, cli, write_producer_csv, tmp_path):
    csv = tmp_path / "export.csv"
    write_producer_csv(csv, fresh.actors["producer"].gln, 1)
    proc = cli(fresh, "ingest", str(csv), "--deployment", str(fresh.manifest))
    assert proc.returncode == 1 and "--key KEYSTORE" in proc.stderr


def test_ingest_prints_progress_lines_and_a_summary_when_not_on_a_terminal(
        fresh, cli, write_producer_csv, tmp_path):
    producer = fresh.actors["producer"]
    csv = tmp_path / "export.csv"
    n = write_producer_csv(csv, producer.gln, 50)
    proc = ingest(fresh, cli, producer, csv, extra=["--batch-size", "40"])
    assert proc.returncode == 0, proc.stderr
    assert f"ingest: {n}/{n} records, 5 transactions" in proc.stdout
    assert f"sent {n} records in 5 transactions" in proc.stdout
    assert f"verified: every one of the {n} records is on chain once" in proc.stdout
    assert on_chain(fresh) == planned_keys(csv)


def test_a_progress_bar_is_drawn_on_a_terminal(fresh, write_producer_csv, tmp_path):
    import os
    import pty

    producer = fresh.actors["producer"]
    csv = tmp_path / "export.csv"
    write_producer_csv(csv, producer.gln, 20)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "milktrace.cli", "ingest", str(csv), "--deployment",
         str(fresh.manifest), "--key", str(producer.keystore), "--batch-size", "20"],
        stdout=follower, stderr=subprocess.PIPE, env=fresh.env(), cwd=str(tmp_path))
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
    os.close(leader)
    text = out.decode("utf-8", "replace")
    assert "records/s" in text and "80/80" in text and "━" in text


def test_two_producers_ingesting_at_once_do_not_interfere(fresh, cli, write_producer_csv,
                                                          tmp_path):
    first = fresh.actors["producer"]
    info = keys.new_key("producer-2", PASSWORD, fresh.keys_dir, scrypt_n=2**12)
    fresh.w3.eth.wait_for_transaction_receipt(fresh.w3.eth.send_transaction(
        {"from": fresh.admin, "to": info.address, "value": 10**21, "gasPrice": 3 * 10**9}))
    orgs.admit(fresh.w3, fresh.dep, fresh.admin, info.address, name="Second Dairy",
               gln="6901234560039", country="CN", roles=Role.PRODUCER)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_producer_csv(a, first.gln, 100, gtin="03760123456784", prefix="A")
    write_producer_csv(b, "6901234560039", 100, gtin="06901234123456", prefix="B")
    procs = [
        subprocess.Popen([sys.executable, "-m", "milktrace.cli", "ingest", str(path),
                          "--deployment", str(fresh.manifest), "--key", key, "--json",
                          "--batch-size", "5", "--window", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=fresh.env())
        for path, key in ((a, str(first.keystore)), (b, "producer-2"))]
    results = [p.communicate(timeout=120) for p in procs]
    summaries = []
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        s = json.loads(out)
        assert s["events"] == 400 and s["skipped"] == 0 and s["transactions"] == 80
        summaries.append(s)
    sa, sb = summaries
    assert sa["firstBlock"] < sb["lastBlock"] and sb["firstBlock"] < sa["lastBlock"]  # at once
    assert on_chain(fresh) == planned_keys(a) + planned_keys(b)
    senders = Counter()
    for block in range(fresh.dep.deploy_block, fresh.w3.eth.block_number + 1):
        for tx in fresh.w3.eth.get_block(block, full_transactions=True)["transactions"]:
            if tx["to"] == fresh.dep.address:
                senders[tx["from"]] += 1
    assert (senders[first.address], senders[info.address]) == (80, 80)


def test_a_second_ingest_with_the_same_key_is_refused_while_the_first_runs(
        fresh, cli, write_producer_csv, tmp_path):
    producer = fresh.actors["producer"]
    csv = tmp_path / "export.csv"
    n = write_producer_csv(csv, producer.gln, 100)
    slow = subprocess.Popen(
        [sys.executable, "-m", "milktrace.cli", "ingest", str(csv), "--deployment",
         str(fresh.manifest), "--key", str(producer.keystore), "--batch-size", "1",
         "--window", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=fresh.env())
    journal = _wait_for(lambda: list(fresh.journal_dir.glob("*.jsonl")), 30)[0]
    _wait_for(lambda: journal.read_text().count('"type":"tx"') >= 5, 30)
    second = ingest(fresh, cli, producer, csv)
    assert slow.poll() is None, "the first ingest ended too soon to test the lock"
    assert second.returncode == 1
    assert "another ingest with this key is running" in second.stderr
    assert slow.wait(120) == 0, slow.stderr.read() if slow.stderr else ""
    assert on_chain(fresh) == planned_keys(csv)
    assert sum(on_chain(fresh).values()) == n


def _wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out")


@pytest.mark.parametrize("node", ["anvil", "ganache"], indirect=True)
def test_both_ways_of_looking_records_up_on_chain_agree(fresh, cli, write_producer_csv,
                                                        tmp_path):
    from milktrace.ingest import kind_topics, record_keys
    from milktrace.ingest import on_chain as lookup

    producer = fresh.actors["producer"]
    sent, unsent = tmp_path / "sent.csv", tmp_path / "unsent.csv"
    write_producer_csv(sent, producer.gln, 30, prefix="S")
    write_producer_csv(unsent, producer.gln, 5, prefix="U")
    assert ingest(fresh, cli, producer, sent).returncode == 0
    records = [p.record for p in plan_files([sent, unsent])]
    keys_ = record_keys(records, kind_topics(fresh.dep.abi))
    rpc = Rpc(fresh.rpc)
    by_scan = lookup(rpc, fresh.dep, keys_, scan=True)
    by_filter = lookup(rpc, fresh.dep, keys_, scan=False, chunk=7)
    assert by_scan == by_filter
    assert sum(by_scan.values()) == 120 and set(by_scan.values()) == {1}
    assert all(by_scan[k] == 0 for k in keys_[120:])


def test_ingest_looks_records_up_through_a_provider_that_caps_log_ranges(
        fresh, cli, write_producer_csv, tmp_path):
    """Public RPCs refuse wide eth_getLogs; the exactly-once look-up pages around that."""
    producer = fresh.actors["producer"]
    csv = tmp_path / "export.csv"
    n = write_producer_csv(csv, producer.gln, 30)
    for _ in range(40):  # a history longer than the provider's 10-block cap
        fresh.w3.provider.make_request("evm_mine", [])
    with CappingProxy(fresh.rpc, "blocks", 10) as proxy:
        env = {"MILKTRACE_RPC": proxy.url}
        first = ingest(fresh, cli, producer, csv, extra=["--json"], env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        again = ingest(fresh, cli, producer, csv, extra=["--json"], env=env)
        assert again.returncode == 0, again.stdout + again.stderr
    assert proxy.refusals > 0
    assert json.loads(first.stdout)["events"] == n
    rerun = json.loads(again.stdout)
    assert (rerun["events"], rerun["skipped"], rerun["transactions"]) == (0, n, 0)
    assert on_chain(fresh) == planned_keys(csv)
