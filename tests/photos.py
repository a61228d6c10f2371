"""Where the shared real photos live (``../shared/data/photos``), and a clean skip when a clone has none.

The photos are never copied into the repository (``../shared/data/README.md``); CI always has them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout, or further up (a worktree in /work/wt/<name> shares /work/shared)
SHARED_DATA = next(
    (p / "shared" / "data" for p in REPO_ROOT.parents if (p / "shared" / "data").is_dir()),
    REPO_ROOT.parent / "shared" / "data",
)
PHOTOS_ROOT = SHARED_DATA / "photos"


def photos_dir(subset: str) -> Path:
    """``inspection``, ``gauge`` or ``fullsize``; skips the calling test when the folder is absent."""
    folder = PHOTOS_ROOT / subset
    if not folder.is_dir():
        pytest.skip(f"shared photos not available: {folder} is absent (only CI has ../shared/data)")
    return folder


def photo_paths(subset: str) -> list[Path]:
    paths = sorted(photos_dir(subset).glob("*.jpg"))
    if not paths:
        pytest.skip(f"no photos in {PHOTOS_ROOT / subset}")
    return paths
