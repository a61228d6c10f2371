"""Intake: untrusted bytes from Telegram → a decoded, oriented RGB ``Photo`` with its cache keys.

Order of checks, cheapest first, so a hostile file costs as little as possible (``inspect``, no pixel decoded):

1. byte limit (``PhotoTooLarge``) before anything is parsed;
2. the header is identified (``Image.open`` reads only the header) and the declared size checked against the
   pixel limit, ``min(max_pixels, Image.MAX_IMAGE_PIXELS)`` (``TooManyPixels``), so Pillow's own bomb guard
   never has to fire;
3. the compression ratio: a file may declare at most ``MAX_PIXELS_PER_BYTE`` pixels per byte above a floor of
   ``RATIO_FLOOR_PIXELS``. A camera JPEG holds 2–10 pixels per byte, a flat PNG screenshot a few hundred; the
   58 KB PNG claiming 10000×6000 (1,000 per byte) that cost 0.8 s and ~365 MB to decode is refused here;
4. only then the full decode, EXIF orientation applied, mode normalised to RGB (``fingerprint.to_rgb``).

Anything Pillow cannot identify or decode (text, PDF, a truncated JPEG, empty bytes) is ``NotAnImage``.

Warnings: decoders warn about hostile or damaged input (corrupt EXIF, failed format probes). They are
recorded, not shown, and logged at DEBUG. ``warnings.catch_warnings`` swaps process-global state, so it is
held (under a lock) only around the short steps that warn (header parse, EXIF); the long pixel decode runs
outside it, so concurrent decodes (``pipeline.fairpool``) really run in parallel.

The pHash of a JPEG/MPO is taken by a second, draft-mode decode of the same bytes (1/8 scale, greyscale):
cheaper than hashing the full-size image and within 2 bits of it (see ``pipeline.fingerprint``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import threading
import warnings
from collections.abc import Iterator
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


MAX_PIXELS_PER_BYTE = 250
RATIO_FLOOR_PIXELS = 12_000_000


@dataclass(frozen=True)
class Header:
    """What intake knows before decoding a single pixel."""

    format: str
    width: int
    height: int
    byte_size: int


def inspect(data: bytes, *, max_bytes: int, max_pixels: int) -> Header:
    """Refuse a file from its size and header alone (no pixel decoded); raise an ``IntakeError`` subclass."""
    with _open(data, max_bytes=max_bytes, max_pixels=max_pixels) as (opened, _):
        return Header(opened.format or "unknown", opened.width, opened.height, len(data))


@dataclass(frozen=True)
class Keys:
    """A photo's cache keys without its pixels: ``phash`` is None when it cannot be had without a decode."""

    sha256: str
    phash: int | None


def cache_keys(data: bytes, *, max_bytes: int, max_pixels: int) -> Keys:
    """For a user who cannot pay for an analysis: header checks, the exact key and, for a JPEG, the cheap draft
    pHash (1/8 scale greyscale); never a full decode."""
    header = inspect(data, max_bytes=max_bytes, max_pixels=max_pixels)
    phash = _draft_phash(data) if header.format in DRAFT_FORMATS else None
    return Keys(hashlib.sha256(data).hexdigest(), phash)


def load_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> Photo:
    """Decode untrusted bytes into a ``Photo`` or raise an ``IntakeError`` subclass."""
    with _open(data, max_bytes=max_bytes, max_pixels=max_pixels) as (opened, caught):
        fmt = "JPEG" if opened.format == "MPO" else (opened.format or "unknown")
        rgb = _decode(opened, fmt)
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


@contextlib.contextmanager
def _open(
    data: bytes, *, max_bytes: int, max_pixels: int
) -> Iterator[tuple[Image.Image, list[warnings.WarningMessage]]]:
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"{len(data)} bytes > limit {max_bytes}")
    if not data:
        raise NotAnImage("empty file")
    if _looks_like_isobmff(data):
        _ensure_heif()
    caught: list[warnings.WarningMessage] = []
    with _captured(caught):
        try:
            opened = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise TooManyPixels(str(exc)) from exc
        except Exception as exc:  # UnidentifiedImageError, SyntaxError, struct.error, ... from any plugin
            raise NotAnImage(f"cannot identify image: {exc}") from exc
    with opened:
        _check_pixels(opened.size, max_pixels, caught)
        _check_ratio(opened.size, len(data))
        with _captured(caught):
            _parse_exif(opened)
        yield opened, caught


@contextlib.contextmanager
def _captured(caught: list[warnings.WarningMessage]) -> Iterator[None]:
    with _warnings_lock, warnings.catch_warnings(record=True) as found:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in found:
                log.debug("intake: decoder warning: %s", warning.message)
            caught.extend(found)


def _parse_exif(opened: Image.Image) -> None:
    try:
        opened.getexif()  # parsed once and cached on the image; exif_transpose reuses it
    except Exception as exc:  # corrupt EXIF must not refuse a photo that decodes
        log.debug("intake: unreadable EXIF: %s", exc)


def _decode(opened: Image.Image, fmt: str) -> Image.Image:
    try:
        opened.load()  # the long part, outside the warnings lock
        ImageOps.exif_transpose(opened, in_place=True)
        return to_rgb(opened)
    except IntakeError:
        raise
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(str(exc)) from exc
    except MemoryError as exc:
        raise TooManyPixels("not enough memory to decode") from exc
    except Exception as exc:  # OSError("image file is truncated"), ValueError, EOFError, ...
        raise NotAnImage(f"cannot decode {fmt}: {exc}") from exc


def _check_ratio(size: tuple[int, int], byte_size: int) -> None:
    pixels = size[0] * size[1]
    if pixels > max(RATIO_FLOOR_PIXELS, byte_size * MAX_PIXELS_PER_BYTE):
        raise TooManyPixels(f"{size[0]}x{size[1]} from {byte_size} bytes: compression ratio of a bomb")


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
    if width * height > min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels):
        raise TooManyPixels(f"{width}x{height} = {width * height} pixels > limit {max_pixels}")
    for warning in caught:
        if issubclass(warning.category, Image.DecompressionBombWarning):
            raise TooManyPixels(str(warning.message))
