"""pHash behaviour the cache relies on, checked on the shared real photos (skipped when absent).

Hashes are taken the way production takes them: through ``load_photo`` (JPEG draft fast path). The
re-encode/resize checks use every 4th photo to keep the suite quick; ``python -m bench fingerprint`` covers
all of them.
"""

from __future__ import annotations

import io
import itertools
from functools import cache
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from pipeline.fingerprint import (
    DRAFT_SIZE,
    fingerprint_bytes,
    hamming,
    phash64,
    to_signed,
    to_unsigned,
)
from pipeline.intake import Photo, load_photo
from tests.photos import photo_paths

MATCH_BITS = 2  # re-encode, resize, re-send: "the same photo"
DIFFERENT_BITS = 8  # cache_max_distance: different photos must stay above it


@cache
def _photo(path: Path) -> Photo:
    return load_photo(path.read_bytes(), max_bytes=1 << 26, max_pixels=60_000_000)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _rehash(image: Image.Image, quality: int = 85) -> int:
    return load_photo(_jpeg(image, quality), max_bytes=1 << 26, max_pixels=60_000_000).phash


@pytest.mark.parametrize(
    ("unsigned", "signed"),
    [
        (0, 0),
        (1, 1),
        (2**63 - 1, 2**63 - 1),
        (2**63, -(2**63)),
        (2**64 - 1, -1),
        (0xBBAB0A894118DD7E, -4923830182980559490),
    ],
)
def test_signed_storage_round_trip(unsigned: int, signed: int) -> None:
    assert to_signed(unsigned) == signed
    assert to_unsigned(signed) == unsigned
    assert to_signed(to_unsigned(signed)) == signed


@pytest.mark.parametrize(
    ("a", "b", "bits"),
    [(0, 0, 0), (0, 1, 1), (0, -1, 64), (-1, 2**64 - 1, 0), (0b1011, 0b0110, 3), (-(2**63), 0, 1)],
)
def test_hamming(a: int, b: int, bits: int) -> None:
    assert hamming(a, b) == bits == hamming(b, a)


def test_phash64_matches_imagehash_bit_order() -> None:
    import imagehash

    image = Image.linear_gradient("L").rotate(30).convert("RGB")
    assert to_unsigned(phash64(image)) == int(str(imagehash.phash(image)), 16)


def test_draft_hash_within_two_bits_of_full_decode_on_every_shared_photo() -> None:
    """The fast path's claim, verified: draft-mode decode at DRAFT_SIZE vs full decode + pHash."""
    paths = photo_paths("inspection") + photo_paths("gauge") + photo_paths("fullsize")
    worst = 0
    for path in paths:
        with Image.open(path) as image:
            full = phash64(ImageOps.exif_transpose(image))
        worst = max(worst, hamming(full, fingerprint_bytes(path.read_bytes(), draft_size=DRAFT_SIZE)))
    assert worst <= MATCH_BITS


@pytest.mark.parametrize("quality", range(20, 100, 10))
def test_reencoding_keeps_the_hash(quality: int) -> None:
    for path in (photo_paths("inspection") + photo_paths("gauge"))[::4]:
        photo = _photo(path)
        assert hamming(photo.phash, _rehash(photo.image, quality)) <= MATCH_BITS, path.name


@pytest.mark.parametrize("scale", [0.5, 0.75])
def test_resizing_keeps_the_hash(scale: float) -> None:
    for path in (photo_paths("inspection") + photo_paths("gauge"))[::4]:
        photo = _photo(path)
        size = (round(photo.width * scale), round(photo.height * scale))
        assert hamming(photo.phash, _rehash(photo.image.resize(size, Image.Resampling.LANCZOS))) <= MATCH_BITS


def test_telegram_resend_of_a_camera_original_keeps_the_hash() -> None:
    """What Telegram does to a photo sent "as photo": 1280 px long side, JPEG q80."""
    for path in photo_paths("fullsize"):
        photo = _photo(path)
        resent = photo.image.copy()
        resent.thumbnail((1280, 1280), Image.Resampling.LANCZOS)
        assert hamming(photo.phash, _rehash(resent, 80)) <= MATCH_BITS


def test_no_two_different_inspection_photos_match() -> None:
    """A hard negative set: same hardware, same backgrounds, yet every pair stays above the threshold."""
    hashes = {path.name: _photo(path).phash for path in photo_paths("inspection")}
    close = [
        (a, b, hamming(hashes[a], hashes[b]))
        for a, b in itertools.combinations(sorted(hashes), 2)
        if hamming(hashes[a], hashes[b]) <= DIFFERENT_BITS
    ]
    assert len(hashes) * (len(hashes) - 1) // 2 >= 5_886
    assert close == []


def test_gauge_photos_are_hashed_upright() -> None:
    """Ignoring EXIF orientation would hash a sideways picture: far from the upright one."""
    rotated = 0
    for path in photo_paths("gauge"):
        with Image.open(path) as raw:
            orientation = raw.getexif().get(0x0112, 1)
            raw.load()
            unoriented = phash64(raw)
        distance = hamming(_photo(path).phash, unoriented)
        if orientation == 1:
            assert distance <= MATCH_BITS  # nothing to rotate: only the draft path's noise
        else:
            rotated += 1
            assert distance >= 16, path.name
    assert rotated > 0
