"""Near-duplicate lookup: ``NearIndex.nearest`` (numpy XOR + popcount) vs a plain Python loop over rows.

Entries are uniformly random 64-bit hashes plus a few planted near neighbours of the query, so both sides
return a handful of hits (as in the cache: most stored photos are far away). The Python loop is timed as a
median at 1e4 and 1e5 entries and ONCE at 1e6 (a single ~0.5 s pass; not extrapolated).
"""

from __future__ import annotations

import random

import numpy as np

from bench._common import median_ms, once_ms, print_table
from pipeline.fingerprint import hamming, to_signed
from pipeline.nearindex import NearIndex

SIZES = (10_000, 100_000, 1_000_000)
MAX_DISTANCE = 8
QUERIES = 50


def _python_loop(rows: list[tuple[int, int]], query: int, max_distance: int) -> list[tuple[int, int]]:
    hits = []
    for row_id, phash in rows:
        distance = hamming(query, phash)
        if distance <= max_distance:
            hits.append((row_id, distance))
    hits.sort(key=lambda hit: (hit[1], hit[0]))
    return hits


def _dataset(size: int, seed: int) -> tuple[list[int], list[int], list[int]]:
    rng = np.random.default_rng(seed)
    hashes = [to_signed(int(h)) for h in rng.integers(0, 2**64, size=size, dtype=np.uint64)]
    picker = random.Random(seed)
    queries = [picker.choice(hashes) for _ in range(QUERIES)]
    for n, query in enumerate(queries[:10]):  # plant neighbours at 1..8 bits
        hashes[n] = to_signed(query ^ ((1 << (n % MAX_DISTANCE + 1)) - 1))
    return list(range(1, size + 1)), hashes, queries


def run() -> None:
    rows_out: list[list[object]] = []
    for size in SIZES:
        ids, hashes, queries = _dataset(size, seed=size)
        index = NearIndex()
        build_ms = once_ms(lambda i=index, a=ids, h=hashes: i.add_many(a, h))

        def lookup(i: NearIndex = index, q: list[int] = queries, turn: list[int] = [0]) -> object:  # noqa: B006
            turn[0] += 1  # a different query each call
            return i.nearest(q[turn[0] % len(q)], MAX_DISTANCE)

        numpy_ms = median_ms(lookup, QUERIES, warmup=3)
        rows = list(zip(ids, hashes, strict=True))
        assert index.nearest(queries[0], MAX_DISTANCE) == _python_loop(rows, queries[0], MAX_DISTANCE)
        if size <= 100_000:
            loop_ms = median_ms(lambda r=rows, q=queries[1]: _python_loop(r, q, MAX_DISTANCE), 3)
            how = "median of 3"
        else:
            loop_ms = once_ms(lambda r=rows, q=queries[1]: _python_loop(r, q, MAX_DISTANCE))
            how = "timed once"
        rows_out.append([size, build_ms, numpy_ms, loop_ms, how, f"{loop_ms / numpy_ms:,.0f}x"])
    print_table(
        f"NearIndex.nearest(max_distance={MAX_DISTANCE}) vs Python loop (median of {QUERIES} queries)",
        ["entries", "add_many ms", "nearest ms", "loop ms", "loop timing", "speed-up"],
        rows_out,
    )
    growth = NearIndex()
    grow_ms = once_ms(lambda: [growth.add(i, i) for i in range(200_000)])
    print(f"  200,000 single add() calls from empty: {grow_ms:.0f} ms total, capacity {growth.capacity:,}")
