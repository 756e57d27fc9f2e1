"""plan_files against a fake chain: roles, organisations, batches, custody parties."""

from __future__ import annotations

from pathlib import Path

import pytest

from milktrace.csvformat import write_csv
from milktrace.errors import ValidationError
from milktrace.identifiers import batch_id, gs1_check_digit
from milktrace.plan import ZERO_ADDRESS, plan_files
from milktrace.types import Organisation, RecordKind, Role


def gln(body: str) -> str:
    return body + str(gs1_check_digit(body))


GTIN, LOT, T = "06901234123456", "L2503A", "2025-03-01T08:00:00+08:00"
BATCH = batch_id(GTIN, LOT)


def org(name: str, body: str, roles: int) -> Organisation:
    return Organisation(account="0x" + body.rjust(40, "0"), name=name, gln=gln(body),
                        country="CN", roles=roles)


producer = org("producer", "690123400001", Role.PRODUCER)
carrier = org("carrier", "690123400002", Role.CARRIER)
lab = org("lab", "690123400003", Role.LAB)
retailer = org("retailer", "690123400004", Role.RETAILER)
regulator = org("regulator", "690123400005", Role.REGULATOR)
stranger_gln = gln("690123400009")


class FakeChain:
    def __init__(self, *orgs: Organisation, batches: tuple[bytes, ...] = ()) -> None:
        self.orgs = {o.gln: o for o in orgs}
        self.batches = set(batches)
        self.calls = 0

    def organisation_by_gln(self, gln: str) -> Organisation | None:
        self.calls += 1
        return self.orgs.get(gln)

    def batch_exists(self, batch: bytes) -> bool:
        return batch in self.batches


@pytest.fixture
def chain() -> FakeChain:
    return FakeChain(producer, carrier, lab, retailer, regulator)


COMMISSION = {"kind": "commission", "event_time": T, "gtin": GTIN, "lot": LOT,
              "production_date": "2025-03-01", "expiry_date": "2026-09-01",
              "quantity": "1200", "uom": "LTR", "site_gln": producer.gln}
SHIP = {"kind": "ship", "event_time": T, "gtin": GTIN, "lot": LOT, "to_gln": carrier.gln,
        "from_gln": producer.gln}
RECEIVE = {"kind": "receive", "event_time": T, "gtin": GTIN, "lot": LOT,
           "to_gln": carrier.gln, "from_gln": producer.gln}


def csv_file(tmp_path: Path, *rows: dict[str, str], name: str = "in.csv") -> Path:
    path = tmp_path / name
    write_csv(path, list(rows))
    return path


def problems(paths: list[Path], signer=None, chain=None) -> list[tuple[str, str, str, str]]:
    with pytest.raises(ValidationError) as info:
        plan_files(paths, signer, chain)
    return [(Path(p.file).name, p.where, p.field, p.message) for p in info.value.problems]


def test_signer_without_the_needed_role_is_refused_before_anything_is_sent(tmp_path, chain):
    found = problems([csv_file(tmp_path, COMMISSION)], carrier, chain)
    assert found == [("in.csv", "line 2", "lot", "a commission record needs the producer role; "
                      "the signer carrier has carrier")]


@pytest.mark.parametrize(("signer", "ok"), [(producer, True), (regulator, True),
                                            (lab, False), (retailer, False)])
def test_status_needs_producer_or_regulator(tmp_path, signer, ok):
    status = {"kind": "status", "event_time": T, "gtin": GTIN, "lot": LOT,
              "status": "quarantined", "reason": "PRECAUTION"}
    view = FakeChain(producer, carrier, lab, retailer, regulator, batches=(BATCH,))
    path = csv_file(tmp_path, status)
    if ok:
        assert plan_files([path], signer, view)[0].record.kind == RecordKind.STATUS
    else:
        assert "needs the producer or regulator role" in problems([path], signer, view)[0][3]


def test_offline_planning_skips_chain_checks_and_leaves_the_addressee_zero(tmp_path):
    planned = plan_files([csv_file(tmp_path, SHIP)], producer, None)
    assert planned[0].record.to == ZERO_ADDRESS


def test_hand_over_addressee_resolves_to_its_admitted_account(tmp_path, chain):
    planned = plan_files([csv_file(tmp_path, COMMISSION, SHIP)], producer, chain)
    assert planned[1].record.to == carrier.account


def test_unknown_gln_is_reported_with_its_column(tmp_path, chain):
    found = problems([csv_file(tmp_path, COMMISSION, {**SHIP, "to_gln": stranger_gln})],
                     producer, chain)
    assert found == [("in.csv", "line 3", "to_gln", f"GLN {stranger_gln} is not an admitted "
                      "organisation; expected the GLN of the receiving organisation as "
                      "admitted on chain")]


def test_batch_neither_on_chain_nor_commissioned_earlier_is_reported(tmp_path, chain):
    found = problems([csv_file(tmp_path, SHIP, COMMISSION)], producer, chain)
    assert [(w, f) for _, w, f, _ in found] == [("line 2", "lot")]
    assert f"batch /01/{GTIN}/10/{LOT} is neither on chain nor commissioned earlier" in found[0][3]


def test_batch_on_chain_or_commissioned_in_an_earlier_file_is_fine(tmp_path, chain):
    first = csv_file(tmp_path, COMMISSION, name="a.csv")
    second = csv_file(tmp_path, SHIP, name="b.csv")
    assert len(plan_files([first, second], producer, chain)) == 2
    on_chain = FakeChain(producer, carrier, batches=(BATCH,))
    assert len(plan_files([second], producer, on_chain)) == 1


def test_hand_over_by_another_party_than_the_signer_is_refused(tmp_path, chain):
    found = problems([csv_file(tmp_path, COMMISSION, SHIP)], retailer, chain)
    assert ("in.csv", "line 3", "from_gln") in [f[:3] for f in found]
    assert "the shipping party is GLN" in [f for f in found if f[2] == "from_gln"][0][3]


def test_accept_by_the_addressee_is_planned_and_by_anyone_else_refused(tmp_path, chain):
    path = csv_file(tmp_path, COMMISSION, SHIP, RECEIVE)
    view = FakeChain(producer, carrier, batches=(BATCH,))
    assert plan_files([csv_file(tmp_path, RECEIVE, name="r.csv")], carrier, view)[0].record.kind \
        == RecordKind.ACCEPT
    found = problems([path], retailer, chain)
    assert any(w == "line 4" and f == "to_gln" and "the receiving party" in m
               for _, w, f, m in found)


def test_hand_over_to_the_signer_itself_is_refused(tmp_path, chain):
    found = problems([csv_file(tmp_path, COMMISSION, {**SHIP, "to_gln": producer.gln})],
                     producer, chain)
    assert any("addressed to the signer itself" in m for *_, m in found)


def test_the_same_event_in_two_files_is_planned_once(tmp_path, chain):
    a = csv_file(tmp_path, COMMISSION, name="a.csv")
    b = csv_file(tmp_path, COMMISSION, name="b.csv")
    assert len(plan_files([a, b], producer, chain)) == 1


def test_a_batch_commissioned_twice_is_reported(tmp_path, chain):
    again = {**COMMISSION, "quantity": "1300"}
    found = problems([csv_file(tmp_path, COMMISSION, again)], producer, chain)
    assert [(w, f) for _, w, f, _ in found] == [("line 3", "lot")]
    assert "already commissioned earlier in this input" in found[0][3]


def test_transformation_inputs_must_exist(tmp_path, chain):
    child = {**COMMISSION, "lot": "MIX1", "parents": f"/01/{GTIN}/10/NOPE"}
    found = problems([csv_file(tmp_path, child)], producer, chain)
    assert f"input batch /01/{GTIN}/10/NOPE is neither on chain" in found[0][3]
    fine = {**child, "parents": f"/01/{GTIN}/10/{LOT}"}
    planned = plan_files([csv_file(tmp_path, COMMISSION, fine, name="ok.csv")], producer, chain)
    assert planned[1].record.parents == (BATCH,)


def test_problems_of_several_files_are_reported_together(tmp_path, chain):
    bad_csv = csv_file(tmp_path, {**COMMISSION, "uom": "litre"}, name="a.csv")
    bad_json = tmp_path / "b.jsonld"
    bad_json.write_text("{not json", "utf-8")
    found = problems([bad_csv, bad_json], producer, chain)
    assert {(f, w) for f, w, _, _ in found} == {("a.csv", "line 2"), ("b.jsonld", "line 1")}


def test_organisations_are_looked_up_once_per_gln(tmp_path):
    view = FakeChain(producer, carrier)
    rows = [COMMISSION] + [{**SHIP, "lot": LOT, "event_time": f"2025-03-0{d}T08:00:00+08:00"}
                           for d in range(2, 6)]
    plan_files([csv_file(tmp_path, *rows)], None, view)
    assert view.calls == 1
