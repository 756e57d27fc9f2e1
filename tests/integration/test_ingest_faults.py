"""Exactly once under faults: the ingest process SIGKILLed mid-run, the node SIGKILLed mid-run
and restarted from its state file (which lags up to a second: acknowledged blocks are lost),
the same on one-second blocks, and crashes between journal and broadcast. Each is verified by
counting every record event on chain: each planned (event type, batch, event id) exactly once,
nothing missing, nothing else."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from integration_support import on_chain

from milktrace import ingest as ingest_mod
from milktrace.chain import Rpc
from milktrace.errors import RpcError
from milktrace.ingest import KIND_EVENT
from milktrace.plan import plan_files


def planned_keys(path: Path) -> Counter:
    return Counter((KIND_EVENT[p.record.kind], p.record.batch_id, p.record.event_id)
                   for p in plan_files([path]))


def journal_lines(chain) -> list[dict]:
    out = []
    for path in chain.journal_dir.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a line cut by the kill
    return out


def journal_txs(chain) -> int:
    return sum(1 for item in journal_lines(chain) if item.get("type") == "tx")


def start_ingest(chain, csv: Path, *extra: str) -> subprocess.Popen:
    """`milktrace ingest CSV --json` as the producer, in the background; stderr to a file."""
    log = csv.with_suffix(f".{time.monotonic_ns()}.log")
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "milktrace.cli", "-v", "ingest", str(csv), "--deployment",
             str(chain.manifest), "--key", str(chain.actors["producer"].keystore), "--json",
             *extra], stdout=subprocess.PIPE, stderr=err, text=True, env=chain.env())
    proc.log = log  # type: ignore[attr-defined]
    return proc


def log_of(proc: subprocess.Popen) -> str:
    return proc.log.read_text()  # type: ignore[attr-defined]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def rerun(chain, csv: Path, *extra: str) -> dict:
    proc = start_ingest(chain, csv, *extra)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, log_of(proc)
    return json.loads(out)


def assert_exactly_once(chain, csv: Path) -> None:
    found, planned = on_chain(chain), planned_keys(csv)
    missing = planned - found
    extra = found - planned
    assert not missing, f"{sum(missing.values())} records missing"
    assert not extra, f"{sum(extra.values())} records too many (duplicates or strangers)"
    assert set(found.values()) == {1}


def state_path(tmp_path: Path, engine: str) -> Path:
    return tmp_path / ("state.json" if engine == "anvil" else "ganache-db")


# ------------------------------------------------------------------ the ingest process dies

@pytest.mark.parametrize("engine", ["anvil", "ganache"])
def test_sigkill_of_the_ingest_mid_run_then_a_rerun_lands_every_record_once(
        engine, node_factory, chain_factory, write_producer_csv, tmp_path):
    chain = chain_factory(node_factory(engine), tmp_path / "chain")
    csv = tmp_path / "export.csv"
    n = write_producer_csv(csv, chain.actors["producer"].gln, 150 if engine == "anvil" else 60)
    proc = start_ingest(chain, csv, "--batch-size", "2", "--window", "3")
    wait_until(lambda: journal_txs(chain) >= 40, 60, "40 journaled transactions")
    assert proc.poll() is None, "the ingest finished before it could be killed\n" + log_of(proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    landed = sum(on_chain(chain).values())
    assert 0 < landed < n  # killed mid-run
    summary = rerun(chain, csv)
    assert summary["verified"] and summary["skipped"] + summary["events"] == n
    assert summary["skipped"] >= landed
    assert_exactly_once(chain, csv)
    again = rerun(chain, csv)
    assert again["events"] == 0 and again["skipped"] == n and again["transactions"] == 0


def test_sigkill_of_the_ingest_on_one_second_blocks_then_a_rerun_lands_every_record_once(
        node_factory, chain_factory, write_producer_csv, tmp_path):
    chain = chain_factory(node_factory("anvil", block_time=1), tmp_path / "chain")
    csv = tmp_path / "export.csv"
    n = write_producer_csv(csv, chain.actors["producer"].gln, 50)
    proc = start_ingest(chain, csv, "--batch-size", "10", "--window", "4")
    wait_until(lambda: journal_txs(chain) >= 8, 60, "8 journaled transactions")
    os.kill(proc.pid, signal.SIGKILL)  # some sent and pending in the pool, some not sent
    proc.wait()
    assert sum(on_chain(chain).values()) < n
    summary = rerun(chain, csv)
    assert summary["skipped"] + summary["events"] == n
    assert_exactly_once(chain, csv)


# ------------------------------------------------------------------ the node dies

@pytest.mark.parametrize("block_time", [None, 1])
def test_node_sigkilled_mid_run_and_restarted_from_its_state_then_a_rerun_lands_every_record_once(
        block_time, node_factory, chain_factory, write_producer_csv, tmp_path):
    state = state_path(tmp_path, "anvil")
    node = node_factory("anvil", state=state, block_time=block_time)
    chain = chain_factory(node, tmp_path / "chain")
    time.sleep(2.2)  # the state file holds the deployment and the organisations
    csv = tmp_path / "export.csv"
    fast = block_time is None
    n = write_producer_csv(csv, chain.actors["producer"].gln, 150 if fast else 50)
    extra = ("--batch-size", "2", "--window", "3") if fast else ("--batch-size", "10",
                                                                  "--window", "4")
    proc = start_ingest(chain, csv, *extra, "--retry-for", "2")
    wait_until(lambda: journal_txs(chain) >= (60 if fast else 10), 60, "journaled txs")
    acknowledged = sum(on_chain(chain).values())
    node.kill()
    assert proc.wait(60) == 1, log_of(proc)  # the node stayed away longer than --retry-for
    message = log_of(proc)
    assert "no answer after 2s of retries" in message and "run the ingest again" in message
    restarted = node_factory("anvil", port=node.port, state=state, block_time=block_time)
    assert restarted.url == chain.rpc
    # the state file lags: what the node acknowledged in its last second may be gone
    lost = acknowledged - sum(on_chain(chain).values())
    print(f"records acknowledged before the kill and lost with the node's last second: {lost}")
    summary = rerun(chain, csv)
    assert summary["skipped"] + summary["events"] == n
    assert_exactly_once(chain, csv)


def test_node_restarted_while_the_ingest_retries_lets_the_same_run_finish_exactly_once(
        node_factory, chain_factory, write_producer_csv, tmp_path):
    state = state_path(tmp_path, "anvil")
    node = node_factory("anvil", state=state)
    chain = chain_factory(node, tmp_path / "chain")
    time.sleep(2.2)
    csv = tmp_path / "export.csv"
    n = write_producer_csv(csv, chain.actors["producer"].gln, 150)
    proc = start_ingest(chain, csv, "--batch-size", "2", "--window", "3", "--retry-for", "60")
    wait_until(lambda: journal_txs(chain) >= 60, 60, "60 journaled transactions")
    node.kill()
    time.sleep(1.0)
    assert proc.poll() is None, log_of(proc)  # still retrying
    node_factory("anvil", port=node.port, state=state)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, log_of(proc)
    summary = json.loads(out)
    assert summary["verified"] and summary["events"] + summary["skipped"] == n
    assert_exactly_once(chain, csv)


# ------------------------------------------------------------------ crashes at exact points

class Crash(Exception):
    pass


def _records(csv: Path):
    planned = plan_files([csv])
    return [p.record for p in planned], [f"{p.source.file}: {p.source.where}" for p in planned]


@pytest.mark.parametrize("point", ["after-journal-before-send", "after-send-before-receipt"])
def test_a_crash_between_journal_and_receipt_is_settled_by_the_next_run(
        point, node, chain_factory, write_producer_csv, tmp_path, monkeypatch):
    chain = chain_factory(node, tmp_path / "chain")
    csv = tmp_path / "export.csv"
    n = write_producer_csv(csv, chain.actors["producer"].gln, 40)
    records, sources = _records(csv)
    producer = chain.actors["producer"].account
    options = ingest_mod.Options(batch_size=10, window=2, journal=chain.journal_dir)
    real_broadcast = ingest_mod.Sender.broadcast
    calls = {"n": 0}

    def crashing(self, items):
        calls["n"] += 1
        if calls["n"] == 3:
            if point == "after-journal-before-send":
                self.journal.sync()
                raise Crash  # signed and journaled, never sent
            real_broadcast(self, items)
            raise Crash  # sent, receipts never read
        return real_broadcast(self, items)

    monkeypatch.setattr(ingest_mod.Sender, "broadcast", crashing)
    with pytest.raises(Crash):
        ingest_mod.ingest(records, sources, Rpc(chain.rpc), chain.dep, producer, options)
    monkeypatch.setattr(ingest_mod.Sender, "broadcast", real_broadcast)
    before = sum(on_chain(chain).values())
    summary = ingest_mod.ingest(records, sources, Rpc(chain.rpc), chain.dep, producer, options)
    assert summary.skipped + summary.events == n
    if point == "after-journal-before-send":
        assert summary.recovered >= 1  # the journaled window was sent first, as signed
        assert summary.skipped > before  # ... and its records were then not planned again
    else:
        assert summary.skipped >= before  # they had landed: nothing of theirs sent again
    assert_exactly_once(chain, csv)


def test_an_unreachable_node_is_retried_with_back_off_then_reported():
    rpc = Rpc("http://127.0.0.1:9", retry_for=1.0)
    t0 = time.monotonic()
    with pytest.raises(RpcError, match="no answer after 1s of retries"):
        rpc.call("eth_chainId")
    assert rpc.retries >= 2 and time.monotonic() - t0 >= 1.0
