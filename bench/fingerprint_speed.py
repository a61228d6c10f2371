"""pHash of a JPEG: full decode + hash (baseline) vs draft-mode decode + hash, and how far the two hashes differ.

Baseline = what one would write first: ``Image.open`` → ``exif_transpose`` → ``phash64``.
Fast path = ``fingerprint_bytes``: libjpeg decodes at 1/2–1/8 scale straight to greyscale.
Also shown: the draft target size sweep that chose ``DRAFT_SIZE`` (largest draft-vs-full distance), and the
hash step as intake sees it (the image is already decoded there, so the baseline is hashing that image).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

from bench._common import median_ms, photo_paths, print_table
from pipeline.fingerprint import DRAFT_SIZE, fingerprint_bytes, hamming, phash64
from pipeline.intake import load_photo

RUNS_SET = 5  # whole-set passes for the 1280 px photos
RUNS_LARGE = 9  # per-photo runs for the camera originals
SWEEP = (32, 64, 128, 256)


def _full_hash(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as image:
        return phash64(ImageOps.exif_transpose(image))


def _set_row(label: str, blobs: list[bytes]) -> list[object]:
    def full_all() -> None:
        for data in blobs:
            _full_hash(data)

    def draft_all() -> None:
        for data in blobs:
            fingerprint_bytes(data)

    full = median_ms(full_all, RUNS_SET) / len(blobs)
    draft = median_ms(draft_all, RUNS_SET) / len(blobs)
    worst = max(hamming(_full_hash(d), fingerprint_bytes(d)) for d in blobs)
    return [label, len(blobs), full, draft, f"{full / draft:.1f}x", worst]


def _large_rows(paths: list[Path]) -> list[list[object]]:
    rows: list[list[object]] = []
    for path in paths:
        data = path.read_bytes()
        with Image.open(path) as image:
            size = f"{image.width}x{image.height} {image.format}"
        full = median_ms(lambda d=data: _full_hash(d), RUNS_LARGE)
        draft = median_ms(lambda d=data: fingerprint_bytes(d), RUNS_LARGE)
        worst = hamming(_full_hash(data), fingerprint_bytes(data))
        rows.append([f"{path.name} ({size})", 1, full, draft, f"{full / draft:.1f}x", worst])
    return rows


def _sweep_rows(blobs: list[bytes]) -> list[list[object]]:
    full_hashes = [_full_hash(d) for d in blobs]
    rows: list[list[object]] = []
    for size in SWEEP:
        distances = [hamming(f, fingerprint_bytes(d, draft_size=size)) for f, d in zip(full_hashes, blobs, strict=True)]
        moved = sum(1 for x in distances if x)
        ms = median_ms(lambda s=size: [fingerprint_bytes(d, draft_size=s) for d in blobs], 3) / len(blobs)
        chosen = " (DRAFT_SIZE)" if size == DRAFT_SIZE else ""
        rows.append([f"{size}{chosen}", len(blobs), moved, max(distances), ms])
    return rows


def _intake_rows(paths: list[Path]) -> list[list[object]]:
    """Inside load_photo the pixels are already decoded: hashing them vs a second, draft decode."""
    rows: list[list[object]] = []
    for path in paths:
        data = path.read_bytes()
        photo = load_photo(data, max_bytes=1 << 26, max_pixels=60_000_000)
        on_image = median_ms(lambda p=photo: phash64(p.image), RUNS_LARGE)
        draft = median_ms(lambda d=data: fingerprint_bytes(d), RUNS_LARGE)
        whole = median_ms(lambda d=data: load_photo(d, max_bytes=1 << 26, max_pixels=60_000_000), RUNS_LARGE)
        rows.append([path.name, f"{photo.width}x{photo.height}", on_image, draft, f"{on_image / draft:.1f}x", whole])
    return rows


def run() -> None:
    inspection = photo_paths("inspection")
    gauge = photo_paths("gauge")
    fullsize = photo_paths("fullsize")
    headers = ["photos", "n", "full ms/photo", "draft ms/photo", "speed-up", "max Hamming"]
    rows: list[list[object]] = []
    if inspection:
        rows.append(_set_row("inspection 1280 px", [p.read_bytes() for p in inspection]))
    if gauge:
        rows.append(_set_row("gauge 1024x768 iPhone", [p.read_bytes() for p in gauge]))
    if fullsize:
        rows.extend(_large_rows(fullsize))
    if rows:
        print_table(f"pHash: full decode vs draft decode (DRAFT_SIZE={DRAFT_SIZE})", headers, rows)
    every = [p for group in (inspection, gauge, fullsize) if group for p in group]
    if every:
        print_table(
            "draft target size sweep (all shared photos): draft-vs-full distance and cost",
            ["draft size", "n", "hashes moved", "max Hamming", "draft ms/photo"],
            _sweep_rows([p.read_bytes() for p in every]),
        )
    if fullsize:
        print_table(
            "hash step inside load_photo (pixels already decoded)",
            ["photo", "size", "phash64(image) ms", "draft decode+hash ms", "speed-up", "load_photo ms"],
            _intake_rows(fullsize),
        )
