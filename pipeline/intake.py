"""Intake: untrusted bytes from Telegram → a decoded, oriented RGB ``Photo`` with its cache keys.

Order of checks, cheapest first, so a hostile file costs as little as possible:

1. byte limit (``PhotoTooLarge``) before anything is parsed;
2. the header is identified (``Image.open`` reads only the header) and the pixel count checked
   (``TooManyPixels``) before any pixel is decoded. Pillow's own decompression-bomb guard fires inside
   ``Image.open`` (a warning above ``Image.MAX_IMAGE_PIXELS`` ≈ 89 MP, an error above twice that); both are
   mapped to ``TooManyPixels``, so the effective limit is ``min(max_pixels, Image.MAX_IMAGE_PIXELS)``;
3. full decode, EXIF orientation applied, mode normalised to RGB (``fingerprint.to_rgb``).

Anything Pillow cannot identify or decode (text, PDF, a truncated JPEG, empty bytes) is ``NotAnImage``.

Warnings: decoders warn about hostile or damaged input (bomb warning, corrupt EXIF, failed format probes).
They are recorded, not shown: a bomb warning becomes ``TooManyPixels``, the rest are logged at DEBUG.
``warnings.catch_warnings`` swaps process-global state, so concurrent intakes (``asyncio.to_thread``) are
serialised by a lock; a 1280 px Telegram photo takes ~10 ms, a 4000×2248 original ~0.2 s (BENCHMARKS.md).

The pHash of a JPEG/MPO is taken by a second, draft-mode decode of the same bytes (1/8 scale, greyscale):
cheaper than hashing the full-size image and within 2 bits of it (see ``pipeline.fingerprint``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from pipeline.errors import IntakeError, NotAnImage, PhotoTooLarge, TooManyPixels
from pipeline.fingerprint import DRAFT_FORMATS, fingerprint_bytes, phash64, to_rgb

log = logging.getLogger(__name__)

_warnings_lock = threading.Lock()
_heif_lock = threading.Lock()
_heif_registered = False


@dataclass(frozen=True)
class Photo:
    """A photo admitted by intake. ``sha256`` is the exact cache key, ``phash`` the near-duplicate one."""

    sha256: str
    phash: int  # signed int64, see pipeline.fingerprint
    width: int  # after EXIF orientation
    height: int
    byte_size: int
    format: str  # Pillow's name; MPO is reported as "JPEG" (its first frame is a plain JPEG)
    image: Image.Image  # RGB, oriented


def _ensure_heif() -> None:
    """Register pillow-heif's opener on first need, not at import (it loads libheif, ~tens of ms)."""
    global _heif_registered
    if _heif_registered:
        return
    with _heif_lock:
        if not _heif_registered:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True


def _looks_like_isobmff(data: bytes) -> bool:
    """HEIC/HEIF/AVIF start with an ISO-BMFF ``ftyp`` box."""
    return data[4:8] == b"ftyp"


def load_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> Photo:
    """Decode untrusted bytes into a ``Photo`` or raise an ``IntakeError`` subclass."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"{len(data)} bytes > limit {max_bytes}")
    if not data:
        raise NotAnImage("empty file")
    if _looks_like_isobmff(data):
        _ensure_heif()
    with _warnings_lock, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            photo = _decode(data, max_pixels=max_pixels, caught=caught)
        finally:
            for warning in caught:
                log.debug("intake: decoder warning: %s", warning.message)
    return photo


def _decode(data: bytes, *, max_pixels: int, caught: list[warnings.WarningMessage]) -> Photo:
    try:
        opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(str(exc)) from exc
    except Exception as exc:  # UnidentifiedImageError, SyntaxError, struct.error, ... from any plugin
        raise NotAnImage(f"cannot identify image: {exc}") from exc
    with opened:
        _check_pixels(opened.size, max_pixels, caught)
        fmt = "JPEG" if opened.format == "MPO" else (opened.format or "unknown")
        try:
            ImageOps.exif_transpose(opened, in_place=True)  # loads the first frame; no copy
            rgb = to_rgb(opened)
        except IntakeError:
            raise
        except Image.DecompressionBombError as exc:
            raise TooManyPixels(str(exc)) from exc
        except MemoryError as exc:
            raise TooManyPixels("not enough memory to decode") from exc
        except Exception as exc:  # OSError("image file is truncated"), ValueError, EOFError, ...
            raise NotAnImage(f"cannot decode {fmt}: {exc}") from exc
    _check_pixels(rgb.size, max_pixels, caught)  # a later frame or plugin may disagree with the header
    phash = _draft_phash(data) if opened.format in DRAFT_FORMATS else None
    if phash is None:
        phash = phash64(rgb)
    return Photo(
        sha256=hashlib.sha256(data).hexdigest(),
        phash=phash,
        width=rgb.width,
        height=rgb.height,
        byte_size=len(data),
        format=fmt,
        image=rgb,
    )


def _draft_phash(data: bytes) -> int | None:
    """Fast pHash of bytes that already decoded fully; None sends the caller to the full-image hash."""
    try:
        return fingerprint_bytes(data)
    except Exception as exc:  # a decoder that copes with full scale but not draft: hash the full image
        log.debug("intake: draft hash failed, hashing full image: %s", exc)
        return None


def _check_pixels(size: tuple[int, int], max_pixels: int, caught: list[warnings.WarningMessage]) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise NotAnImage(f"empty image {width}x{height}")
    if width * height > max_pixels:
        raise TooManyPixels(f"{width}x{height} = {width * height} pixels > limit {max_pixels}")
    for warning in caught:
        if issubclass(warning.category, Image.DecompressionBombWarning):
            raise TooManyPixels(str(warning.message))
