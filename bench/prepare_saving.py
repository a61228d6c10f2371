"""Image tokens and cost per photo: "send as received" (baseline) vs "prepared per ImagePolicy".

Token counts are the estimates of ``pipeline.imagetokens`` (the published rules; Gemini's tile count above
384 px is an assumption). Prices are list input prices per 1M tokens (SDK-FACTS §4), applied to image tokens
only. ``prepare`` is actually run, so the prepared sizes and JPEG bytes are real.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PIL import Image

from bench._common import median_ms, photo_paths, print_table
from pipeline.costs import PriceTable
from pipeline.imagetokens import estimate_image_tokens
from pipeline.intake import load_photo
from pipeline.prepare import prepare
from pipeline.tiers import claude, gemini, openai_compat
from pipeline.types import ImagePolicy


@dataclass(frozen=True)
class Target:
    provider: str
    model: str
    usd_per_mtok: float
    policy: ImagePolicy


def _targets() -> tuple[Target, ...]:
    """The policies the tiers really use and the input prices in force today, so the figures track the code."""
    prices = PriceTable.load()
    today = date.today()
    rows = (
        ("anthropic", "claude-haiku-4-5", claude.IMAGE_POLICY),
        ("google", "gemini-2.5-flash-lite", gemini.IMAGE_POLICY),
        ("openai", "gpt-4.1-mini", openai_compat.IMAGE_POLICY),
    )
    targets = []
    for provider, model, policy in rows:
        price = prices.lookup(model, today)
        assert price is not None, f"no price for {model}"
        targets.append(Target(provider, model, float(price.input_per_m), policy))
    return tuple(targets)


TARGETS = _targets()


def _images(paths: list[Path]) -> list[tuple[Image.Image, int]]:
    loaded = []
    for path in paths:
        data = path.read_bytes()
        loaded.append((load_photo(data, max_bytes=1 << 26, max_pixels=60_000_000).image, len(data)))
    return loaded


def _rows(label: str, images: list[tuple[Image.Image, int]]) -> list[list[object]]:
    rows: list[list[object]] = []
    n = len(images)
    for target in TARGETS:
        raw_tokens = prep_tokens = raw_bytes = prep_bytes = 0
        for image, size in images:
            prepared = prepare(image, target.policy)
            raw_tokens += estimate_image_tokens(target.provider, target.model, image.width, image.height)
            prep_tokens += estimate_image_tokens(target.provider, target.model, prepared.width, prepared.height)
            raw_bytes += size
            prep_bytes += len(prepared.data)
        prep_ms = median_ms(lambda t=target: prepare(images[0][0], t.policy), 5)
        saved = (raw_tokens - prep_tokens) / n
        rows.append(
            [
                label,
                target.model,
                raw_tokens / n,
                prep_tokens / n,
                saved,
                f"{100 * saved / (raw_tokens / n):.0f}%",
                raw_tokens / n * target.usd_per_mtok,  # µUSD per photo (tokens × $/M = µ$)
                prep_tokens / n * target.usd_per_mtok,
                raw_bytes / n / 1024,
                prep_bytes / n / 1024,
                prep_ms,
            ]
        )
    return rows


def run() -> None:
    rows: list[list[object]] = []
    for subset, label in (("inspection", "1280 px (Telegram photo)"), ("fullsize", "camera original (file)")):
        paths = photo_paths(subset)
        if paths:
            rows.extend(_rows(f"{label} n={len(paths)}", _images(paths)))
    if not rows:
        return
    print_table(
        "image tokens per photo: as received vs prepared (estimates); cost in micro-USD per photo",
        [
            "photos",
            "model",
            "tok received",
            "tok prepared",
            "saved/photo",
            "saved",
            "µ$ received",
            "µ$ prepared",
            "KiB received",
            "KiB prepared",
            "prepare ms",
        ],
        rows,
    )
    print("  prices $/1M input: claude-haiku-4-5 1.00, gemini-2.5-flash-lite 0.10, gpt-4.1-mini 0.40")
