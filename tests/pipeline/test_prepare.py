"""prepare(): fits each provider's policy, never upscales, strips metadata, decodes back."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pipeline.prepare import fit_size, prepare
from pipeline.types import ImagePolicy

CLAUDE = ImagePolicy(max_long_side=1092, max_pixels=1_150_000)
GEMINI = ImagePolicy(max_long_side=768, max_pixels=589_824)
OPENAI = ImagePolicy(max_long_side=1024, max_pixels=1_048_576)
POLICIES = [CLAUDE, GEMINI, OPENAI, ImagePolicy(max_long_side=4000, max_pixels=250_000, quality=60)]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    ("width", "height"),
    [(4000, 2248), (2248, 4000), (1280, 719), (1024, 768), (768, 1024), (300, 200), (5000, 40), (1, 1)],
)
def test_fit_size_honours_limits_keeps_aspect_never_upscales(policy: ImagePolicy, width: int, height: int) -> None:
    new_width, new_height = fit_size(width, height, policy)
    assert 1 <= new_width <= width and 1 <= new_height <= height
    assert max(new_width, new_height) <= policy.max_long_side
    assert new_width * new_height <= policy.max_pixels
    if (new_width, new_height) != (width, height):
        assert abs(new_width / new_height - width / height) / (width / height) < 0.05 or min(new_width, new_height) < 20
        # As large as the limits allow: one more pixel on the long side would break a limit.
        assert max(new_width, new_height) == policy.max_long_side or new_width * new_height > policy.max_pixels * 0.99


@pytest.mark.parametrize(
    ("size", "policy", "expected"),
    [
        ((4000, 2248), CLAUDE, (1092, 613)),
        ((4000, 2248), GEMINI, (768, 431)),
        ((4000, 2248), OPENAI, (1024, 575)),
        ((1280, 719), GEMINI, (768, 431)),
        ((1024, 768), OPENAI, (1024, 768)),
        ((1024, 1024), GEMINI, (768, 768)),
        ((640, 480), CLAUDE, (640, 480)),
    ],
)
def test_fit_size_table(size: tuple[int, int], policy: ImagePolicy, expected: tuple[int, int]) -> None:
    assert fit_size(*size, policy) == expected


def test_prepare_downscales_and_output_decodes() -> None:
    image = Image.linear_gradient("L").resize((2000, 1500)).convert("RGB")
    prepared = prepare(image, OPENAI)
    assert prepared.mime_type == "image/jpeg"
    assert (prepared.width, prepared.height) == (1024, 768)
    with Image.open(io.BytesIO(prepared.data)) as decoded:
        assert decoded.format == "JPEG"
        assert decoded.size == (1024, 768)
        decoded.load()


def test_prepare_never_upscales_small_images() -> None:
    prepared = prepare(Image.new("RGB", (120, 90), (10, 20, 30)), CLAUDE)
    assert (prepared.width, prepared.height) == (120, 90)
    with Image.open(io.BytesIO(prepared.data)) as decoded:
        assert decoded.size == (120, 90)


def test_prepare_strips_exif_and_comment() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    source = io.BytesIO()
    Image.new("RGB", (200, 100), (1, 2, 3)).save(source, format="JPEG", exif=exif.tobytes(), comment=b"GPS here")
    with Image.open(source) as image:
        image.load()
        assert image.info.get("comment") == b"GPS here"
        for prepared in (prepare(image, CLAUDE), prepare(image, ImagePolicy(max_long_side=50, max_pixels=10_000))):
            with Image.open(io.BytesIO(prepared.data)) as decoded:
                assert not decoded.getexif()
                assert "comment" not in decoded.info
                assert "exif" not in decoded.info


def test_prepare_accepts_non_rgb_and_uses_quality() -> None:
    image = Image.effect_noise((400, 400), 64).convert("RGB")
    low = prepare(image, ImagePolicy(max_long_side=400, max_pixels=160_000, quality=30))
    high = prepare(image, ImagePolicy(max_long_side=400, max_pixels=160_000, quality=95))
    assert len(low.data) < len(high.data)
    grey = prepare(image.convert("L"), CLAUDE)
    with Image.open(io.BytesIO(grey.data)) as decoded:
        assert decoded.mode == "RGB"
