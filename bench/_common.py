"""Shared helpers: where the photos are, how to time, how to print a table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout, or further up (a worktree in /work/wt/<name> shares /work/shared)
PHOTOS_ROOT = (
    next(
        (p / "shared" / "data" for p in REPO_ROOT.parents if (p / "shared" / "data").is_dir()),
        REPO_ROOT.parent / "shared" / "data",
    )
    / "photos"
)


def photo_paths(subset: str) -> list[Path] | None:
    """Sorted JPEGs of ``inspection``/``gauge``/``fullsize``, or None (with a printed reason) when absent."""
    folder = PHOTOS_ROOT / subset
    paths = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if not paths:
        print(f"  (skipped {subset}: no photos at {folder}; ../shared/data is only present in CI)")
        return None
    return paths


def median_ms(action: Callable[[], object], runs: int, warmup: int = 1) -> float:
    """Median wall time of ``action`` in milliseconds over ``runs`` runs after ``warmup`` untimed ones."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def once_ms(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        padded = [c.rjust(w) if n and i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        print("  " + "  ".join(padded))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
