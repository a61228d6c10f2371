"""Nameplates for tests: the shared real photos, plates rendered onto real photos, and one shared reader.

Rendered plates are made here at test time (text drawn onto a real inspection photo, then rotated, blurred or
washed out) so no binary is committed. The reader is the real OCR engine; ``MemoReader`` only remembers what
it read for an identical image, so a photo used by several tests is read once per session.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pipeline.plate import PlateReader, PlateReading
from tests.photos import SHARED_DATA

SHARED = SHARED_DATA
NAMEPLATES = SHARED / "nameplates"
INSPECTION = SHARED / "photos" / "inspection"


class MemoReader(PlateReader):
    """The real reader, remembering its reading of an identical image (deterministic engine: same output)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        self._memo: dict[str, PlateReading] = {}

    def read_sync(self, image: Image.Image) -> PlateReading:
        key = hashlib.sha256(image.tobytes() + repr(image.size).encode()).hexdigest()
        if key not in self._memo:
            self.runs += 1
            self._memo[key] = super().read_sync(image)
        return self._memo[key]


def shared_photo(name: str) -> bytes:
    path = NAMEPLATES / name
    if not path.is_file():
        pytest.skip(f"shared nameplate photos absent ({path}); CI has them")
    return path.read_bytes()


def manifest() -> dict[str, dict[str, Any]]:
    path = NAMEPLATES / "manifest.json"
    if not path.is_file():
        pytest.skip("shared nameplate manifest absent; CI has it")
    return {item["id"]: item for item in json.loads(path.read_text())}


@dataclass(frozen=True)
class Plate:
    lines: tuple[str, ...]
    background: str = "normal_a_g_1.jpg"  # an inspection photo; a grey card when the shared data is absent
    angle: float = 0.0
    blur: float = 0.0
    contrast: float = 1.0  # < 1 washes the text out towards the plate colour
    scale: float = 1.0  # font size factor
    quality: int = 85


def render(plate: Plate) -> bytes:
    """A Telegram-size JPEG of a metal-coloured plate with ``plate.lines`` printed on it, on a real photo."""
    path = INSPECTION / plate.background
    if path.is_file():
        with Image.open(path) as opened:
            base = opened.convert("RGB")
        base.thumbnail((1280, 1280))
    else:
        base = Image.new("RGB", (1280, 960), (120, 124, 118))
    font = ImageFont.load_default(size=round(38 * plate.scale))
    pad, gap = 40, round(22 * plate.scale)
    sizes = [font.getbbox(line) for line in plate.lines]
    width = max(b[2] for b in sizes) + 2 * pad
    height = sum(b[3] for b in sizes) + gap * (len(plate.lines) - 1) + 2 * pad
    card = Image.new("RGB", (width, height), (214, 216, 210))
    ink = round(214 - (214 - 25) * plate.contrast)
    draw = ImageDraw.Draw(card)
    y = pad
    for line, box in zip(plate.lines, sizes, strict=True):
        draw.text((pad, y), line, fill=(ink, ink, ink + 4), font=font)
        y += box[3] + gap
    draw.rectangle((4, 4, width - 5, height - 5), outline=(90, 92, 88), width=3)
    if plate.angle:
        card = card.convert("RGBA").rotate(plate.angle, expand=True, resample=Image.Resampling.BICUBIC)
    left, top = max(0, (base.width - card.width) // 2), max(0, (base.height - card.height) // 2)
    base.paste(card, (left, top), card if card.mode == "RGBA" else None)
    if plate.blur:
        base = base.filter(ImageFilter.GaussianBlur(plate.blur))
    buffer = io.BytesIO()
    base.save(buffer, format="JPEG", quality=plate.quality)
    return buffer.getvalue()
