"""Sorted-pair keccak256 Merkle trees over sensor readings."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from milktrace.merkle import (
    ZERO,
    MerkleTree,
    Reading,
    hash_pair,
    merkle_root,
    verify,
    verify_reading,
)

readings = st.builds(Reading, time=st.integers(0, 2**40), centi=st.integers(-4000, 6000),
                     sensor=st.sampled_from(["", "logger-1", "冷链-2"]))


def test_a_reading_leaf_is_keccak_of_its_44_byte_encoding():
    reading = Reading(time=1_740_787_200, centi=-125, sensor="logger-1")
    encoded = reading.encode()
    assert len(encoded) == 44
    assert encoded[:8] == (1_740_787_200).to_bytes(8, "big")
    assert encoded[8:12] == (-125).to_bytes(4, "big", signed=True)
    assert encoded[12:] == keccak(b"logger-1")
    assert reading.leaf() == keccak(encoded)


def test_no_leaves_give_the_zero_root_and_one_leaf_is_its_own_root():
    assert merkle_root([]) == ZERO
    leaf = Reading(1, 450).leaf()
    assert merkle_root([leaf]) == leaf
    assert MerkleTree([leaf]).proof(leaf) == []


def test_two_leaves_hash_in_sorted_order():
    a, b = sorted([Reading(1, 450).leaf(), Reading(2, 460).leaf()])
    assert merkle_root([b, a]) == keccak(a + b) == hash_pair(b, a)


def test_three_leaves_promote_the_odd_one():
    a, b, c = sorted(Reading(t, 400).leaf() for t in range(3))
    assert merkle_root([c, a, b]) == hash_pair(hash_pair(a, b), c)


def test_proof_of_a_leaf_not_in_the_tree_is_refused():
    tree = MerkleTree.of_readings([Reading(1, 450), Reading(2, 460)])
    with pytest.raises(KeyError, match="not in the tree"):
        tree.proof(Reading(3, 470).leaf())


@given(st.lists(readings, min_size=1, max_size=70))
def test_every_reading_proves_against_the_root(rs):
    tree = MerkleTree.of_readings(rs)
    for reading in rs:
        assert verify_reading(reading, tree.proof(reading.leaf()), tree.root)


@given(st.lists(readings, min_size=2, max_size=40, unique=True), st.data())
def test_a_changed_reading_does_not_verify(rs, data):
    tree = MerkleTree.of_readings(rs)
    victim = data.draw(st.sampled_from(rs))
    forged = Reading(victim.time, victim.centi + 1, victim.sensor)
    if forged in rs:
        return
    assert not verify_reading(forged, tree.proof(victim.leaf()), tree.root)


@given(st.lists(readings, max_size=30), st.randoms())
def test_root_does_not_depend_on_reading_order(rs, rnd):
    shuffled = list(rs)
    rnd.shuffle(shuffled)
    assert MerkleTree.of_readings(shuffled).root == MerkleTree.of_readings(rs).root


def test_verify_rejects_a_proof_for_another_root():
    tree = MerkleTree.of_readings([Reading(t, 500) for t in range(5)])
    leaf = Reading(2, 500).leaf()
    assert verify(leaf, tree.proof(leaf), tree.root)
    assert not verify(leaf, tree.proof(leaf), keccak(b"another root"))


def test_leaves_must_be_32_bytes():
    with pytest.raises(ValueError, match="expected 32 bytes"):
        MerkleTree([b"short"])
