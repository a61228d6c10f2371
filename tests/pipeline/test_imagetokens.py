"""Image-token estimates: the worked numbers of ../shared/notes/SDK-FACTS.md §3, one table per provider."""

from __future__ import annotations

import pytest

from pipeline.imagetokens import (
    claude_tokens,
    estimate_image_tokens,
    gemini_tokens,
    openai_patch_tokens,
    openai_tile_tokens,
    xai_tokens,
)


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        (200, 200, 54),  # SDK-FACTS: ≈ 54
        (1000, 1000, 1334),  # ≈ 1334
        (1092, 1092, 1590),  # ≈ 1590, the largest unresized 1:1
        (768, 576, 590),  # ≈ 590
        (512, 384, 263),  # ≈ 262 (262.1, rounded up)
        (951, 1268, 1608),  # 3:4 maximum from Anthropic's table, sent unresized
        (1280, 960, 1639),  # over 1,600 tokens but within the table's largest size (see module doc)
        (4000, 2248, 1638),  # scaled down by Anthropic to 1478×831 (≤1,229,312 px)
        (8000, 100, 40),  # long edge capped at 1568: 1568×19
    ],
)
def test_claude(width: int, height: int, tokens: int) -> None:
    assert claude_tokens(width, height) == tokens
    assert estimate_image_tokens("anthropic", "claude-haiku-4-5", width, height) == tokens


def test_claude_never_exceeds_its_resize_ceiling() -> None:
    assert max(claude_tokens(w, h) for w in range(100, 9000, 377) for h in range(100, 9000, 413)) <= 1640


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        (384, 384, 258),
        (100, 50, 258),
        (385, 384, 258),  # one 768 tile (assumed tiling)
        (768, 768, 258),
        (769, 768, 516),
        (1280, 719, 516),
        (1024, 768, 516),
        (4000, 2248, 258 * 6 * 3),
    ],
)
def test_gemini(width: int, height: int, tokens: int) -> None:
    assert gemini_tokens(width, height) == tokens
    assert estimate_image_tokens("google", "gemini-2.5-flash-lite", width, height) == tokens


@pytest.mark.parametrize(
    ("model", "width", "height", "tokens"),
    [
        ("gpt-4.1-mini", 512, 384, 312),  # 192 patches × 1.62
        ("gpt-4.1-mini", 768, 576, 700),  # 432 patches
        ("gpt-4.1-mini", 1024, 768, 1245),  # 768 patches
        ("gpt-4.1-mini", 1024, 1024, 1659),  # 1024 patches
        ("gpt-4.1-mini", 1800, 2400, 2353),  # shrunk to 1452 patches, as in OpenAI's example
        ("gpt-4.1-mini-2025-04-14", 512, 384, 312),
        ("gpt-4.1-nano", 512, 384, 473),
        ("gpt-5-mini", 512, 384, 312),  # older multiplier 1.62 (newest doc: 1.2), the higher one kept
        ("gpt-4o", 1024, 1024, 765),  # 768×768 → 4 tiles → 85 + 680
        ("gpt-4.1", 1024, 1024, 765),
        ("gpt-4o-mini", 512, 512, 2833 + 5667),  # tile-based despite "-mini"
        ("gpt-5", 1024, 1024, 70 + 140 * 4),
    ],
)
def test_openai(model: str, width: int, height: int, tokens: int) -> None:
    assert estimate_image_tokens("openai", model, width, height) == tokens


@pytest.mark.parametrize(
    ("model", "width", "height", "tokens"),
    [
        ("gemini-3.1-flash-lite", 384, 384, 1120),  # media_resolution high, whatever the size
        ("gemini-3.5-flash-lite", 4000, 3000, 1120),
        ("gemini-3.5-flash-lite", 768, 576, 1120),  # above the ~1,065-1,100 measured at the default
        ("gemini-2.5-flash-lite", 768, 576, 258),  # 2.x keeps its tile rule
        ("gemini-4-flash", 2000, 2000, 258 * 9),  # unknown generation: the higher of both rules
        ("gemini-4-flash", 300, 300, 1120),
    ],
)
def test_gemini_by_generation(model: str, width: int, height: int, tokens: int) -> None:
    assert estimate_image_tokens("google", model, width, height) == tokens


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        (448, 448, 512),  # one tile + the extra one
        (449, 448, 768),
        (800, 600, 1280),  # xAI's own example: 2×2 tiles + 1
        (1024, 768, 1792),  # the figure: 3×2 tiles + 1 (the old estimate said 765)
        (4000, 3000, 1792),  # resized to at most 6 tiles: the bound
        (100, 100, 512),
    ],
)
def test_xai_tiles(width: int, height: int, tokens: int) -> None:
    assert xai_tokens(width, height) == tokens
    assert estimate_image_tokens("xai", "grok-4.3", width, height) == tokens


def test_xai_estimate_never_exceeds_its_bound_nor_falls_below_the_rule() -> None:
    for width in range(50, 6000, 317):
        for height in range(50, 6000, 389):
            tiles = -(-width // 448) * -(-height // 448)
            assert 256 * (min(tiles, 6) + 1) == xai_tokens(width, height) <= 1792


@pytest.mark.parametrize(("width", "height"), [(512, 384), (1024, 768), (2048, 1536), (300, 4000)])
def test_an_openai_model_without_a_rule_gets_the_higher_scheme(width: int, height: int) -> None:
    unknown = estimate_image_tokens("openai", "gpt-6-luna", width, height)
    assert unknown >= estimate_image_tokens("openai", "gpt-4.1-nano", width, height)  # patch 2.46, highest
    assert unknown >= openai_tile_tokens(width, height)


def test_openai_patch_budget_is_a_ceiling() -> None:
    sizes = [(w, h) for w in range(64, 5000, 211) for h in range(64, 5000, 293)]
    assert max(openai_patch_tokens(w, h, 1.0) for w, h in sizes) <= 1536


def test_openai_tile_rule() -> None:
    assert openai_tile_tokens(512, 512) == 85 + 170
    assert openai_tile_tokens(2048, 4096) == 85 + 170 * 6  # 2048 fit → 1024×2048 → 768×1536 → 2×3 tiles


@pytest.mark.parametrize(
    ("provider", "model", "width", "height", "tokens"),
    [
        ("xai", "grok-4.3", 1024, 1024, 256 * 7),  # 3×3 tiles capped at 6, plus one
        ("grok", "grok-4.20-non-reasoning", 512, 512, 256 * 5),
        ("ollama", "qwen2.5vl:3b", 4000, 3000, 0),
        ("claude", "claude-haiku-4-5", 200, 200, 54),
        ("gemini", "gemini-2.5-flash-lite", 384, 384, 258),
        ("someone-new", "x", 1000, 1000, 1792),  # unknown provider: highest known rule (xAI's here)
    ],
)
def test_estimate_by_provider(provider: str, model: str, width: int, height: int, tokens: int) -> None:
    assert estimate_image_tokens(provider, model, width, height) == tokens


def test_empty_image_is_an_error() -> None:
    with pytest.raises(ValueError):
        estimate_image_tokens("anthropic", "claude-haiku-4-5", 0, 10)
