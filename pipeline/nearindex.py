"""In-memory near-duplicate index over 64-bit pHashes: which stored rows lie within k bits of this photo?

A pHash match is a Hamming-distance question, which a B-tree cannot answer, so the cache keeps every stored
hash in one contiguous ``uint64`` array next to a parallel ``int64`` array of row ids and answers a lookup by a
vectorised scan: XOR with the query, ``np.bitwise_count`` (popcount), keep distances ≤ k. A linear scan is
exact (no missed neighbours, unlike bucketing on hash prefixes) and fast enough at the sizes this bot will
see: ~1 ms per lookup at 1,000,000 entries on the 2-core CI machine, against ~0.2 s for a Python loop over
the same rows; loading 1,000,000 rows with ``add_many`` takes ~0.4 s (BENCHMARKS.md, ``python -m bench
nearindex``).

Storage grows by capacity doubling (amortised O(1) ``add``), removal swaps the last entry into the hole
(O(1), order is not meaningful), and a dict maps id → slot so ``remove`` and re-``add`` of an id are O(1).
Each id holds one hash; adding an id again replaces its hash.

Concurrency: not thread-safe. It is owned by the pipeline's cache and used from one asyncio event loop;
every method is synchronous and short (no await inside), so coroutines cannot interleave within a call.
Do not call it from ``asyncio.to_thread`` workers without a lock.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from pipeline.fingerprint import to_unsigned

_INITIAL_CAPACITY = 1024
_MASK = (1 << 64) - 1


class NearIndex:
    """Row ids keyed by pHash, queried by Hamming distance. Hashes may be given signed or unsigned."""

    def __init__(self, capacity: int = _INITIAL_CAPACITY) -> None:
        capacity = max(1, capacity)
        self._hashes: npt.NDArray[np.uint64] = np.zeros(capacity, dtype=np.uint64)
        self._ids: npt.NDArray[np.int64] = np.zeros(capacity, dtype=np.int64)
        self._slot: dict[int, int] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __contains__(self, row_id: object) -> bool:
        return row_id in self._slot

    @property
    def capacity(self) -> int:
        return int(self._hashes.shape[0])

    def add(self, row_id: int, phash: int) -> None:
        """Index ``row_id`` under ``phash`` (replacing its previous hash, if any)."""
        slot = self._slot.get(row_id)
        if slot is None:
            self._reserve(self._size + 1)
            slot = self._size
            self._size += 1
            self._slot[row_id] = slot
            self._ids[slot] = row_id
        self._hashes[slot] = to_unsigned(phash)

    def add_many(self, row_ids: Iterable[int], phashes: Iterable[int]) -> None:
        """Bulk load (start-up: every stored analysis). Lengths must match; a repeated id keeps its last hash."""
        ids = list(row_ids)
        values = [phash & _MASK for phash in phashes]
        if len(ids) != len(values):
            raise ValueError(f"{len(ids)} ids but {len(values)} hashes")
        latest = dict(zip(ids, values, strict=True))
        for row_id in latest.keys() & self._slot.keys():
            self._hashes[self._slot[row_id]] = latest.pop(row_id)
        if not latest:
            return
        start, count = self._size, len(latest)
        self._reserve(start + count)
        self._ids[start : start + count] = np.fromiter(latest.keys(), dtype=np.int64, count=count)
        self._hashes[start : start + count] = np.fromiter(latest.values(), dtype=np.uint64, count=count)
        self._slot.update(zip(latest.keys(), range(start, start + count), strict=True))
        self._size = start + count

    def remove(self, row_id: int) -> bool:
        """Forget ``row_id``; returns whether it was present."""
        slot = self._slot.pop(row_id, None)
        if slot is None:
            return False
        last = self._size - 1
        if slot != last:
            moved = int(self._ids[last])
            self._ids[slot] = moved
            self._hashes[slot] = self._hashes[last]
            self._slot[moved] = slot
        self._size = last
        return True

    def nearest(self, phash: int, max_distance: int, limit: int | None = None) -> list[tuple[int, int]]:
        """``(row_id, distance)`` for every entry within ``max_distance`` bits, closest first (ties by id)."""
        if self._size == 0 or max_distance < 0:
            return []
        query = np.uint64(to_unsigned(phash))
        distances = np.bitwise_count(np.bitwise_xor(self._hashes[: self._size], query))
        hits = np.flatnonzero(distances <= max_distance)
        if hits.size == 0:
            return []
        hit_ids = self._ids[hits]
        hit_distances = distances[hits]
        order = np.lexsort((hit_ids, hit_distances))
        if limit is not None:
            order = order[:limit]
        return [(int(hit_ids[i]), int(hit_distances[i])) for i in order]

    def _reserve(self, needed: int) -> None:
        capacity = self.capacity
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        hashes = np.zeros(capacity, dtype=np.uint64)
        ids = np.zeros(capacity, dtype=np.int64)
        hashes[: self._size] = self._hashes[: self._size]
        ids[: self._size] = self._ids[: self._size]
        self._hashes, self._ids = hashes, ids
