"""Intake: every format a technician's phone or PC may send, and every way a file can be refused.

Images are generated here with Pillow; only MPO uses the shared camera originals. pytest runs with
warnings as errors, so a decoder warning escaping intake fails these tests.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from pipeline.errors import NotAnImage, PhotoTooLarge, TooManyPixels
from pipeline.fingerprint import fingerprint_bytes, hamming, phash64
from pipeline.intake import Keys, Photo, cache_keys, load_photo
from tests.photos import photo_paths

LIMITS = {"max_bytes": 20 * 1024 * 1024, "max_pixels": 60_000_000}
WHITE = (255, 255, 255)


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _scene(size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A picture with structure (a hashable gradient and a block), not a flat colour."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.paste((200, 30, 30), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    return image


def _load(data: bytes, **overrides: int) -> Photo:
    return load_photo(data, **{**LIMITS, **overrides})


def test_jpeg_keys_and_metadata() -> None:
    data = _encode(_scene(), "JPEG", quality=90)
    photo = _load(data)
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert (photo.width, photo.height, photo.byte_size, photo.format) == (160, 120, len(data), "JPEG")
    assert photo.image.mode == "RGB" and photo.image.size == (160, 120)
    assert photo.phash == fingerprint_bytes(data)
    assert -(2**63) <= photo.phash < 2**63


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    photo = _load(_encode(_scene((200, 100)), "JPEG", exif=exif.tobytes()))
    assert (photo.width, photo.height) == (100, 200)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("RGBA", "PNG"), ("LA", "PNG"), ("RGBA", "WEBP")],
)
def test_alpha_is_composited_on_white(mode: str, fmt: str) -> None:
    image = Image.new(mode, (40, 40), (0,) * len(mode))  # fully transparent black
    params: dict[str, object] = {"lossless": True} if fmt == "WEBP" else {}
    photo = _load(_encode(image, fmt, **params))
    assert photo.image.getpixel((5, 5)) == WHITE


def test_palette_with_transparency_becomes_white() -> None:
    image = Image.new("P", (40, 40), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(0, (0, 0, 20, 40))
    photo = _load(_encode(image, "PNG", transparency=0))
    assert photo.image.getpixel((5, 5)) == WHITE
    assert photo.image.getpixel((30, 5)) == (255, 0, 0)


def test_cmyk_jpeg_becomes_rgb() -> None:
    photo = _load(_encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG", quality=95))
    pixel = photo.image.getpixel((10, 10))
    assert isinstance(pixel, tuple)
    assert pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


@pytest.mark.parametrize(("value", "expected"), [(65535, 255), (32768, 128), (0, 0)])
def test_16_bit_grey_is_scaled_not_clipped(value: int, expected: int) -> None:
    photo = _load(_encode(Image.new("I;16", (16, 16), value), "PNG"))
    assert photo.image.getpixel((3, 3)) == (expected,) * 3


def test_32_bit_int_grey() -> None:
    photo = _load(_encode(Image.new("I", (16, 16), 65535), "TIFF"))
    assert photo.image.getpixel((3, 3)) == WHITE


def test_one_bit_png() -> None:
    photo = _load(_encode(Image.new("1", (16, 16), 1), "PNG"))
    assert photo.image.getpixel((0, 0)) == WHITE


def test_webp_lossy() -> None:
    photo = _load(_encode(_scene(), "WEBP", quality=80))
    assert (photo.format, photo.width, photo.height) == ("WEBP", 160, 120)


def test_heic() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif build has no HEVC encoder to make a HEIC sample")
    buffer = io.BytesIO()
    pillow_heif.from_pillow(_scene()).save(buffer, quality=90)
    photo = _load(buffer.getvalue())
    assert (photo.format, photo.width, photo.height) == ("HEIF", 160, 120)
    assert hamming(photo.phash, phash64(_scene())) <= 8


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert _load(data).image.getpixel((5, 5)) == (255, 0, 0)


def test_generated_mpo_opens_as_jpeg() -> None:
    frames = [_scene(), _scene().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    photo = _load(_encode(frames[0], "MPO", save_all=True, append_images=frames[1:]))
    assert photo.format == "JPEG"
    assert hamming(photo.phash, phash64(frames[0])) <= 4


def test_camera_originals_including_mpo() -> None:
    formats = set()
    for path in photo_paths("fullsize"):
        data = path.read_bytes()
        with Image.open(path) as raw:
            formats.add(raw.format)
            size = raw.size
        photo = _load(data)
        assert photo.format == "JPEG"
        assert (photo.width, photo.height) == size
        assert hamming(photo.phash, phash64(photo.image)) <= 2  # draft fast path vs full image
    assert "MPO" in formats  # (one of the two "MPO" originals is in fact a plain JPEG, 4288×2416)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"just some text, not a photo\n" * 10,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        b"\xff\xd8\xff\xe0" + b"\x00" * 64,  # a JPEG signature and nothing else
    ],
    ids=["empty", "text", "pdf", "jpeg-signature-only"],
)
def test_not_an_image(data: bytes) -> None:
    with pytest.raises(NotAnImage):
        _load(data)


def test_truncated_jpeg_is_not_an_image() -> None:
    data = _encode(_scene((400, 300)), "JPEG", quality=95)
    with pytest.raises(NotAnImage):
        _load(data[: len(data) // 2])


def test_byte_limit_is_checked_before_decoding() -> None:
    with pytest.raises(PhotoTooLarge):
        _load(b"not even an image" * 100, max_bytes=1000)
    data = _encode(_scene(), "JPEG")
    assert _load(data, max_bytes=len(data)).byte_size == len(data)


def test_pixel_limit_from_settings() -> None:
    data = _encode(Image.new("RGB", (300, 300)), "PNG")
    with pytest.raises(TooManyPixels):
        _load(data, max_pixels=300 * 300 - 1)
    assert _load(data, max_pixels=300 * 300).width == 300


def _png_header_only(width: int, height: int) -> bytes:
    """A few-hundred-byte PNG claiming huge dimensions: nothing but a header and an empty data stream."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("width", "height", "max_pixels"),
    [
        (9_000, 8_000, 60_000_000),  # over our limit, under Pillow's: our header check
        (10_000, 10_000, 500_000_000),  # over Pillow's warning threshold: the warning is mapped, not emitted
        (40_000, 40_000, 60_000_000),  # over twice Pillow's threshold: DecompressionBombError mapped
    ],
)
def test_decompression_bombs_are_refused_from_the_header(width: int, height: int, max_pixels: int) -> None:
    data = _png_header_only(width, height)
    assert len(data) < 100
    with pytest.raises(TooManyPixels):
        _load(data, max_pixels=max_pixels)


def test_real_small_file_huge_gif() -> None:
    data = _encode(Image.new("P", (8_000, 8_000)), "GIF")
    assert len(data) < 200_000
    with pytest.raises(TooManyPixels):
        _load(data)


def test_a_real_small_file_that_decodes_to_many_pixels_is_refused_before_decoding() -> None:
    """The issue's bomb, scaled down: a valid PNG of a few KB that would decode to 15 MP (7,000 pixels a byte)."""
    data = _encode(Image.new("1", (5_000, 3_000)), "PNG")
    assert len(data) < 5_000
    with pytest.raises(TooManyPixels, match="compression ratio"):
        _load(data)
    with pytest.raises(TooManyPixels):
        cache_keys(data, **LIMITS)


def test_a_flat_screenshot_is_still_accepted() -> None:
    data = _encode(Image.new("RGB", (1920, 1080), (250, 250, 250)), "PNG")
    assert _load(data).width == 1920


def test_cache_keys_never_decode_more_than_a_jpeg_draft() -> None:
    jpeg = _encode(_scene((400, 300)), "JPEG", quality=90)
    assert cache_keys(jpeg, **LIMITS) == Keys(hashlib.sha256(jpeg).hexdigest(), fingerprint_bytes(jpeg))
    png = _encode(_scene((400, 300)), "PNG")
    assert cache_keys(png, **LIMITS).phash is None, "no pHash without a full decode: exact matches only"
    truncated = jpeg[: len(jpeg) // 2]
    assert cache_keys(truncated, **LIMITS).sha256 == hashlib.sha256(truncated).hexdigest()
