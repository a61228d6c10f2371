"""Photo compression under a byte limit."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cmmsconnect.photo import compress_photo, photo_mime
from tests.cmms.conftest import jpeg


def test_small_photo_is_untouched() -> None:
    data = jpeg()
    assert compress_photo(data, len(data)) is data


@pytest.mark.parametrize("limit", [300_000, 100_000, 20_000])
def test_large_photo_fits_under_limit_and_stays_a_jpeg(limit: int) -> None:
    data = jpeg((1200, 900), noise=True)
    assert len(data) > limit
    small = compress_photo(data, limit)
    assert small is not None and len(small) <= limit
    assert Image.open(io.BytesIO(small)).format == "JPEG"
    assert compress_photo(data, limit) == small  # deterministic: a retry uploads the same bytes


def test_impossible_limit_or_garbage_gives_none() -> None:
    assert compress_photo(jpeg((1200, 900), noise=True), 5_000) is None
    assert compress_photo(b"not an image" * 100, 10) is None


@pytest.mark.parametrize(
    ("data", "mime"),
    [(b"\xff\xd8\xff\xe0", "image/jpeg"), (b"\x89PNG\r\n", "image/png"), (b"RIFF\0\0\0\0WEBPVP8", "image/webp")],
)
def test_mime_from_magic(data: bytes, mime: str) -> None:
    assert photo_mime(data) == mime
