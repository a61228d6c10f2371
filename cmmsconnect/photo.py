"""Fit a photo under a CMMS's upload limit (MaintainX refuses attachments over 1 MB with a 413).

Re-encoding is deterministic for the same input and limit, so a retried delivery uploads the same bytes.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

_QUALITIES = (85, 75, 65, 55)
_SCALE_STEP = 0.75
_MIN_SIDE = 320


def compress_photo(data: bytes, max_bytes: int) -> bytes | None:
    """The photo itself when it fits; else a JPEG re-encoded (lower quality, then smaller) under ``max_bytes``.

    None when it cannot be made to fit or is not an image: the work order is still filed, without the photo,
    because a missing picture must not block a maintenance job.
    """
    if len(data) <= max_bytes:
        return data
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    while True:
        for quality in _QUALITIES:
            encoded = _jpeg(image, quality)
            if len(encoded) <= max_bytes:
                return encoded
        width, height = image.size
        if min(width, height) * _SCALE_STEP < _MIN_SIDE:
            return None
        image = image.resize((round(width * _SCALE_STEP), round(height * _SCALE_STEP)), Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def photo_mime(data: bytes) -> str:
    """Content type from the magic bytes (what we send is almost always JPEG)."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def photo_filename(stem: str, data: bytes) -> str:
    extension = {"image/png": "png", "image/webp": "webp"}.get(photo_mime(data), "jpg")
    return f"photo-{stem}.{extension}".replace(":", "-")
