"""Per-provider image preparation: the smallest JPEG that still gets the provider's full attention.

Providers bill images by size (see ``pipeline.imagetokens``) and most downscale large images themselves, so
sending more pixels than a provider's own resize limit costs upload time and, for the tiled/patch schemes,
money, and buys nothing. Each tier declares an ``ImagePolicy`` (largest long side and pixel count before the
provider starts charging more or resizing); ``prepare`` scales the intake image down to fit both, never up
(upscaling adds tokens and no detail), and encodes a fresh JPEG.

Privacy: the output carries no EXIF (GPS, device serial), comment or ICC segment, whatever the source had;
orientation was already applied by intake, so dropping EXIF cannot rotate the picture.
Savings per provider on the shared photos: BENCHMARKS.md (``python -m bench prepare``).
"""

from __future__ import annotations

import io
import math

from PIL import Image

from pipeline.types import ImagePolicy, PreparedImage

MIME_JPEG = "image/jpeg"


def fit_size(width: int, height: int, policy: ImagePolicy) -> tuple[int, int]:
    """Largest size with the same aspect that fits ``policy`` and is no larger than ``width×height``."""
    if width <= 0 or height <= 0:
        raise ValueError(f"empty image {width}x{height}")
    scale = min(
        1.0,
        policy.max_long_side / max(width, height),
        math.sqrt(policy.max_pixels / (width * height)),
    )
    if scale >= 1.0:
        return width, height
    # The epsilon keeps 5000 × (768/5000) at 768, not 767.99999 → 767.
    new_width = min(policy.max_long_side, max(1, math.floor(width * scale + 1e-6)))
    new_height = min(policy.max_long_side, max(1, math.floor(height * scale + 1e-6)))
    # Float rounding can leave the product a hair over the budget; trim the longer side until it fits.
    while new_width * new_height > policy.max_pixels and max(new_width, new_height) > 1:
        if new_width >= new_height:
            new_width -= 1
        else:
            new_height -= 1
    return new_width, new_height


def prepare(image: Image.Image, policy: ImagePolicy) -> PreparedImage:
    """Downscale (LANCZOS, aspect kept) to fit ``policy`` and encode as JPEG at ``policy.quality``."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    size = fit_size(image.width, image.height, policy)
    resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    # exif/comment given explicitly: Pillow would otherwise copy a comment from image.info.
    resized.save(buffer, format="JPEG", quality=policy.quality, optimize=True, exif=b"", comment=b"")
    return PreparedImage(data=buffer.getvalue(), mime_type=MIME_JPEG, width=size[0], height=size[1])
