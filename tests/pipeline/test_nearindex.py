"""NearIndex against a brute-force reference: random tables, removal, replacement and growth."""

from __future__ import annotations

import random

import pytest

from pipeline.fingerprint import hamming, to_signed
from pipeline.nearindex import NearIndex


def _reference(entries: dict[int, int], query: int, max_distance: int) -> list[tuple[int, int]]:
    hits = [(row_id, hamming(query, phash)) for row_id, phash in entries.items()]
    return sorted(((i, d) for i, d in hits if d <= max_distance), key=lambda hit: (hit[1], hit[0]))


def _flip(value: int, bits: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return to_signed(value)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("max_distance", [0, 3, 8, 20])
def test_matches_brute_force(seed: int, max_distance: int) -> None:
    rng = random.Random(seed)
    index = NearIndex(capacity=4)
    entries: dict[int, int] = {}
    base = [to_signed(rng.getrandbits(64)) for _ in range(5)]
    for row_id in rng.sample(range(10_000), 300):
        # Clusters around a few centres so that small distances actually occur.
        phash = _flip(rng.choice(base), rng.randint(0, 12), rng)
        entries[row_id] = phash
        index.add(row_id, phash)
    for _ in range(20):
        query = _flip(rng.choice(base), rng.randint(0, 6), rng)
        assert index.nearest(query, max_distance) == _reference(entries, query, max_distance)


def test_signed_and_unsigned_hashes_are_the_same_key() -> None:
    index = NearIndex()
    index.add(1, -1)
    assert index.nearest(2**64 - 1, 0) == [(1, 0)]


def test_add_many_then_remove_and_replace() -> None:
    rng = random.Random(7)
    entries = {row_id: to_signed(rng.getrandbits(64)) for row_id in range(1, 2_001)}
    index = NearIndex()
    index.add_many(list(entries), list(entries.values()))
    assert len(index) == 2_000
    for row_id in rng.sample(sorted(entries), 700):
        assert index.remove(row_id)
        del entries[row_id]
    assert not index.remove(1_000_000)
    for row_id in rng.sample(sorted(entries), 50):  # re-adding an id replaces its hash
        entries[row_id] = to_signed(rng.getrandbits(64))
        index.add(row_id, entries[row_id])
    assert len(index) == len(entries) == 1_300
    for row_id, phash in rng.sample(sorted(entries.items()), 100):
        assert (row_id, 0) in index.nearest(phash, 0)
        assert index.nearest(phash, 64) == _reference(entries, phash, 64)
    removed = next(i for i in range(1, 2_001) if i not in entries)
    assert removed not in index


def test_add_many_duplicates_keep_the_last_hash() -> None:
    index = NearIndex()
    index.add(5, 0)
    index.add_many([5, 6, 6], [1, 2, 3])
    assert len(index) == 2
    assert index.nearest(1, 0) == [(5, 0)]
    assert index.nearest(3, 0) == [(6, 0)]


def test_add_many_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        NearIndex().add_many([1, 2], [3])


def test_growth_doubles_capacity_and_keeps_entries() -> None:
    index = NearIndex(capacity=2)
    capacities = set()
    for row_id in range(1_000):
        index.add(row_id, row_id)
        capacities.add(index.capacity)
    assert capacities == {2**k for k in range(1, 11)}
    index.add_many(range(1_000, 5_000), range(1_000, 5_000))
    assert index.capacity == 8_192
    assert index.nearest(4_999, 0) == [(4_999, 0)]
    assert index.nearest(0, 0) == [(0, 0)]


def test_closest_first_ties_by_id_and_limit() -> None:
    index = NearIndex()
    index.add_many([30, 10, 20, 40], [0b111, 0b1, 0b1, 0])
    assert index.nearest(0, 8) == [(40, 0), (10, 1), (20, 1), (30, 3)]
    assert index.nearest(0, 8, limit=2) == [(40, 0), (10, 1)]
    assert index.nearest(0, 0) == [(40, 0)]
    assert index.nearest(0, -1) == []
    assert NearIndex().nearest(0, 64) == []
