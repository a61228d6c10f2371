"""Decompression bombs and bursts at intake (issue 11 item 5): what one user's bad files cost everyone else.

Two questions, each against a baseline measured in the same run:

1. **One bomb.** The issue's file: a small PNG declaring 10,000 × 6,000 pixels (60 MP, exactly at the old
   limit). Baseline: what decoding it costs (Pillow's full decode, as intake did before the header check) —
   time and the memory of the decoded image. Now: ``intake.load_photo`` refuses it from the byte size and the
   header (compression ratio), so nothing is decoded.
2. **A burst beside an honest photo.** Another user sends 16 files at once, then an honest user sends one
   Telegram-size photo; all go through the pipeline's ``FairPool`` (``INTAKE_WORKERS`` = 2) as in production.
   Baseline: the honest photo alone. Bursts: 16 bombs (refused from the header), and 16 *legal* heavy photos
   (24 MP noise JPEGs, full decodes the limits allow) — the honest photo should wait for at most the decodes
   already running, never for the burst. For contrast, the same heavy burst through one FIFO worker (the shape
   of the old single intake lock) is measured too.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from bench._common import PHOTOS_ROOT, median_ms, print_table
from pipeline.fairpool import FairPool
from pipeline.intake import IntakeError, load_photo
from pipeline.settings import PipelineSettings

SETTINGS = PipelineSettings()
LIMITS = {"max_bytes": SETTINGS.max_photo_bytes, "max_pixels": SETTINGS.max_pixels}
BURST = 16
REPEATS = 5


def _png_bomb() -> bytes:
    """The issue's file: a flat 10,000 × 6,000 PNG (a few tens of KB)."""
    out = io.BytesIO()
    Image.new("RGB", (10_000, 6_000), (255, 255, 255)).save(out, "PNG", optimize=True)
    return out.getvalue()


def _heavy_jpeg(seed: int) -> bytes:
    """A legal but expensive photo: 24 MP of noise (too many bytes per pixel to look like a bomb)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(4_000, 6_000, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=85)
    return out.getvalue()


def _honest_photo() -> bytes:
    folder = PHOTOS_ROOT / "inspection"
    paths = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if paths:
        return paths[0].read_bytes()
    print(f"  (no shared photos at {folder}; the honest photo is a generated 1280 × 960 scene)")
    out = io.BytesIO()
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 256, size=(960, 1280, 3), dtype=np.uint8)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _full_decode(data: bytes) -> None:
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # the baseline: decode whatever the header says, as before the check
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.convert("RGB").load()
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _refused(data: bytes) -> None:
    try:
        load_photo(data, **LIMITS)
    except IntakeError:
        return
    raise AssertionError("the bomb was accepted")


def _one_bomb() -> None:
    bomb = _png_bomb()
    decode_ms = median_ms(lambda: _full_decode(bomb), runs=3)
    refuse_ms = median_ms(lambda: _refused(bomb), runs=21)
    decoded_mib = 10_000 * 6_000 * 3 / 2**20  # the RGB pixels a decode must hold (Pillow's C heap)
    rows = [
        ["decode it (baseline)", f"{decode_ms:,.1f}", f"{decoded_mib:,.0f}"],
        ["refused from the header (now)", f"{refuse_ms:,.2f}", "0"],
    ]
    print_table(
        f"One bomb: {len(bomb) / 1024:,.0f} KiB PNG declaring 10,000 x 6,000 "
        f"(decode / refuse = {decode_ms / refuse_ms:,.0f}x)",
        ["path", "ms (median)", "pixels held, MiB"],
        rows,
    )


async def _honest_latency(honest: bytes, burst: list[bytes], *, fair: bool) -> float:
    """Submit the burst (user "burst"), then the honest photo (user "honest"); ms until the honest one decoded."""

    def job(data: bytes) -> Callable[[], object]:
        def run() -> object:
            try:
                return load_photo(data, **LIMITS)
            except IntakeError as exc:
                return exc

        return run

    if fair:
        pool = FairPool(SETTINGS.intake_workers, name="bench")
        tasks = [asyncio.ensure_future(pool.run("burst", job(data))) for data in burst]
        await asyncio.sleep(0)  # the burst is queued first, as in the issue
        start = time.perf_counter()
        await pool.run("honest", job(honest))
        took = (time.perf_counter() - start) * 1000
        await asyncio.gather(*tasks)
        pool.close()
        return took
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1) as single:  # one FIFO queue: the shape of the old intake lock
        futures = [loop.run_in_executor(single, job(data)) for data in burst]
        start = time.perf_counter()
        await loop.run_in_executor(single, job(honest))
        took = (time.perf_counter() - start) * 1000
        await asyncio.gather(*futures)
    return took


def _burst() -> None:
    honest = _honest_photo()
    bombs = [_png_bomb()] * BURST
    heavy = [_heavy_jpeg(seed) for seed in range(BURST)]

    def median_of(burst: list[bytes], *, fair: bool) -> tuple[float, float]:
        samples = [asyncio.run(_honest_latency(honest, burst, fair=fair)) for _ in range(REPEATS)]
        return statistics.median(samples), max(samples)

    alone, alone_max = median_of([], fair=True)
    rows: list[list[object]] = [["nothing else (baseline)", "FairPool", f"{alone:,.0f}", f"{alone_max:,.0f}", "1.0x"]]
    for label, burst, fair in (
        (f"{BURST} bombs from one user", bombs, True),
        (f"{BURST} legal 24 MP photos from one user", heavy, True),
        (f"{BURST} legal 24 MP photos, one FIFO worker", heavy, False),
    ):
        median, worst = median_of(burst, fair=fair)
        intake = "FairPool" if fair else "1 FIFO"
        rows.append([label, intake, f"{median:,.0f}", f"{worst:,.0f}", f"{median / alone:.1f}x"])
    print_table(
        f"An honest photo ({len(honest) / 1024:,.0f} KiB) submitted right after a burst "
        f"(INTAKE_WORKERS={SETTINGS.intake_workers}, median and worst of {REPEATS})",
        ["before it", "intake", "honest photo ms", "worst ms", "vs alone"],
        rows,
    )


def run() -> None:
    _one_bomb()
    _burst()
