"""Perceptual fingerprints of photos: 64-bit pHash, stored as a signed int64.

The cache keys a photo twice (DESIGN.md): by the sha256 of its bytes (exact re-send) and by this perceptual
hash (the same photo re-encoded, resized or re-sent by Telegram). Two photos are "the same" when the Hamming
distance between their hashes is at most ``cache_max_distance`` (8 by default). Measured on
``../shared/data/photos``: re-encoding at q20–q90, resizing and a 1280 px/q80 re-send move the hash by at most
2 bits, while no two different inspection photos come within 8 bits of each other.

Why signed: SQLite INTEGER and PostgreSQL BIGINT hold signed 64-bit values, so the unsigned pHash is stored
in two's complement. ``to_unsigned`` gives back the bit pattern for XOR/popcount.

Why a draft path: a camera original (4000×2248) spends most of its hashing time decoding pixels that the hash
throws away (pHash looks at a 32×32 greyscale thumbnail). libjpeg can decode at 1/2, 1/4 or 1/8 scale
(``Image.draft``) straight into greyscale. The draft hash is *not* bit-identical to the full-decode hash, as
had been claimed: with a 32 or 64 px draft target 3 of 165 shared photos moved by 4 bits; with
``DRAFT_SIZE = 128`` the worst case is 2 bits (26 of 165 moved by 2, the rest identical), within the noise of a
re-encode and far below the match threshold. Figures and speed-ups: BENCHMARKS.md (``python -m bench
fingerprint``).

The hash is defined on the normalised RGB image (alpha flattened on white, 16-bit scaled to 8-bit), so the
normalisation lives here too and intake uses it for the image it hands on.
"""

from __future__ import annotations

import io

import imagehash
import numpy as np
from PIL import Image, ImageOps

HASH_BITS = 64
#: Smallest side the JPEG decoder is asked to keep in draft mode; 128 keeps draft-vs-full within 2 bits.
DRAFT_SIZE = 128
#: Formats whose decoder supports DCT-domain downscaling (MPO is a JPEG with extra frames).
DRAFT_FORMATS = frozenset({"JPEG", "MPO"})

_SIGN_BIT = 1 << 63
_MASK = (1 << 64) - 1
_WHITE = (255, 255, 255)


def to_signed(value: int) -> int:
    """Map an unsigned 64-bit pattern to the int64 that stores it."""
    value &= _MASK
    return value - (1 << 64) if value & _SIGN_BIT else value


def to_unsigned(value: int) -> int:
    """Map a stored int64 (or an unsigned value) back to its unsigned 64-bit pattern."""
    return value & _MASK


def hamming(a: int, b: int) -> int:
    """Number of differing bits; accepts signed or unsigned forms of either hash."""
    return ((a ^ b) & _MASK).bit_count()


def to_rgb(image: Image.Image) -> Image.Image:
    """Normalise any Pillow mode to 8-bit RGB: alpha composited on white, 16/32-bit scaled down, CMYK converted.

    Palette images are expanded through RGBA so a transparency entry becomes white rather than the palette
    colour behind it (and Pillow's "transparency expressed in bytes" warning is never triggered).
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}:
        return _wide_grey_to_rgb(image)
    if mode == "P" or mode == "PA" or mode in {"LA", "La", "RGBa"}:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, _WHITE)
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _wide_grey_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit greyscale: scale the 16-bit range to 8 bits (Pillow's own conversion clips)."""
    pixels = np.asarray(image)
    if image.mode == "F":
        grey = np.clip(pixels, 0.0, 255.0).astype(np.uint8)
    else:
        grey = (np.clip(pixels.astype(np.int64), 0, 65535) >> 8).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def phash64(image: Image.Image) -> int:
    """pHash (8×8 DCT bits of a 32×32 greyscale thumbnail) of an already oriented image, as signed int64."""
    if image.mode not in {"L", "RGB"}:
        image = to_rgb(image)
    bits = np.packbits(imagehash.phash(image, hash_size=8).hash.flatten())
    return to_signed(int.from_bytes(bits.tobytes(), "big"))


def fingerprint_bytes(data: bytes, *, draft_size: int = DRAFT_SIZE) -> int:
    """pHash of encoded bytes, decoding JPEG/MPO at reduced scale; EXIF orientation is still applied.

    Other formats are decoded fully and hashed like ``phash64``. No size limits are applied here: untrusted
    bytes go through ``pipeline.intake.load_photo`` first, which calls this only after its checks pass.
    """
    with Image.open(io.BytesIO(data)) as image:
        if image.format in DRAFT_FORMATS:
            image.draft("L", (draft_size, draft_size))
        oriented = ImageOps.exif_transpose(image)
    return phash64(oriented)
