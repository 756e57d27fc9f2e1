"""Sorted-pair keccak256 Merkle trees over sensor readings (and any other leaf hashes).

A condition summary puts one 32-byte root on chain for thousands of readings; an auditor or
the scan page proves that one reading is under it with `log2(n)` sibling hashes.

Leaf: `keccak256(time ‖ value ‖ keccak256(sensor))` over a reading, big-endian:

    time:   uint64, unix seconds of the reading
    value:  int32, hundredths of a degree Celsius (two's complement)
    sensor: keccak256 of the sensor/device id (UTF-8; "" when unknown), 32 bytes

44 bytes in all, so a leaf preimage can never be mistaken for an inner node's (64 bytes).

Tree: leaves are sorted (the root is a function of the set of readings, whatever order the
logger exported them in); each level pairs neighbours, a pair's parent is
`keccak256(min(a, b) ‖ max(a, b))` (OpenZeppelin `MerkleProof` compatible), and a last odd node
moves up unchanged. One leaf is its own root; no leaf gives the zero root. A proof is the list
of sibling hashes from the leaf up; `verify` folds it with the same sorted-pair rule, so it needs
no left/right flags, and is what Solidity's `MerkleProof.verify(proof, root, leaf)` computes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

try:  # safe-pysha3 (installed with brownie) is ~10x faster than eth-hash's default backend
    from sha3 import keccak_256 as _keccak_256

    def keccak(data: bytes) -> bytes:
        return _keccak_256(data).digest()
except ImportError:  # pragma: no cover - depends on the environment
    from eth_hash.auto import keccak  # type: ignore[assignment]

ZERO = bytes(32)


@dataclass(frozen=True, order=True)
class Reading:
    """One temperature reading: unix seconds, hundredths of °C, and the sensor that took it."""

    time: int
    centi: int
    sensor: str = ""

    def encode(self) -> bytes:
        return (self.time.to_bytes(8, "big", signed=False)
                + self.centi.to_bytes(4, "big", signed=True)
                + keccak(self.sensor.encode("utf-8")))

    def leaf(self) -> bytes:
        return keccak(self.encode())


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a <= b else keccak(b + a)


class MerkleTree:
    """A sorted-pair Merkle tree over leaf hashes (sorted on construction)."""

    def __init__(self, leaves: Iterable[bytes]) -> None:
        self.leaves: list[bytes] = sorted(leaves)
        for leaf in self.leaves:
            if len(leaf) != 32:
                raise ValueError(f"leaf {leaf.hex()}: expected 32 bytes")
        self.levels: list[list[bytes]] = [self.leaves]
        level = self.leaves
        while len(level) > 1:
            level = [hash_pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                     for i in range(0, len(level), 2)]
            self.levels.append(level)

    @classmethod
    def of_readings(cls, readings: Iterable[Reading]) -> MerkleTree:
        return cls(r.leaf() for r in readings)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0] if self.leaves else ZERO

    def __len__(self) -> int:
        return len(self.leaves)

    def proof(self, leaf: bytes) -> list[bytes]:
        """Sibling hashes from `leaf` to the root; KeyError when the leaf is not in the tree."""
        index = bisect_left(self.leaves, leaf)
        if index >= len(self.leaves) or self.leaves[index] != leaf:
            raise KeyError(f"leaf {leaf.hex()} is not in the tree")
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index //= 2
        return path


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    return MerkleTree(leaves).root


def verify(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True when `proof` leads from `leaf` to `root`."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root


def verify_reading(reading: Reading, proof: Sequence[bytes], root: bytes) -> bool:
    return verify(reading.leaf(), proof, root)
