"""Estimated input tokens of one image, per provider, from the size actually sent.

Used only to *reserve* budget before a cloud call (DESIGN.md, "Money"); the ledger records the usage the
provider reports. Rules are the providers' published ones as collected in ``../shared/notes/SDK-FACTS.md``
§3 and ``MODELS-2026-11.md`` (newer); where a rule is unknown or ambiguous the estimate errs high, because an
under-reservation lets a request overspend the daily budget while an over-reservation is only released at
settlement.

* Anthropic (Claude Haiku 4.5 and 5.5, same rule): ``ceil(w·h/750)``. Images whose long edge exceeds 1568 px
  or that would cost more than ~1,600 tokens are first scaled down by Anthropic, aspect kept. We model that as "fit in
  1568 px and 1,229,312 px", the largest entry of Anthropic's table of unresized maxima (1:2 at 784×1568,
  ≈1,640 tokens). SDK-FACTS quotes 1280×960 → ~1092×819 ≈ 1192 tokens, which contradicts that same table
  (3:4 at 951×1268 ≈ 1608 tokens is sent unresized); we follow the table and estimate 1639 for 1280×960
  (higher, so safe for a reservation).
* Google (Gemini 2.x): 258 tokens when both sides are ≤384 px; otherwise 258 per 768×768 tile. Google does
  not spell out the tiling above 384 px, so we *assume* ``tiles = ceil(w/768)·ceil(h/768)``.
  Gemini 3.x bills a fixed budget per image set by ``media_resolution`` (Google's media-resolution guide: low
  280, medium 560, high 1120 tokens; measured ~1,065–1,100 at the default), whatever the size. The Gemini
  tier sets ``GEMINI_3_MEDIA_RESOLUTION`` explicitly on 3.x requests, so the estimate is that setting's
  budget; a Gemini generation we do not know yet gets the larger of both rules.
* OpenAI: two schemes by model. Patch-based (gpt-4.1-mini/nano, o4-mini, gpt-5-mini/nano, gpt-5.2+):
  32 px patches, at most 1536 (image shrunk to fit), times a per-model multiplier (gpt-4.1-mini 1.62).
  Tile-based (gpt-4o, gpt-4.1, gpt-5, o-series, and gpt-4o-mini despite its name): fit 2048², shortest
  side to 768, ``base + per_tile × ceil(w/512)·ceil(h/512)`` (gpt-4o/4.1: 85 + 170·tiles). A ``-mini``
  suffix alone does not decide the scheme: gpt-4o-mini is tiled at 2833 + 5667·tiles.
* xAI (Grok): 448×448 tiles of 256 tokens each, at most 6, plus one extra tile (xAI docs as quoted in a
  third-party issue, 2025-10): 800×600 → 1,280, 1024×768 → 1,792, and never more than 7 × 256 = 1,792, which
  we treat as the bound. (The gpt-4o tile rule used before gave 765 for 1024×768, 2.3× short.)
* OpenAI models we have no rule for: the larger of the tile rule and the patch rule at the highest known
  multiplier (2.46), so a new default is never under-reserved.
* Ollama: local, free → 0.
"""

from __future__ import annotations

import math

_CLAUDE_MAX_LONG_SIDE = 1568
_CLAUDE_MAX_PIXELS = 784 * 1568
_GEMINI_SMALL_SIDE = 384
_GEMINI_TILE = 768
_GEMINI_TOKENS_PER_TILE = 258
_PATCH = 32
_PATCH_BUDGET = 1536
_XAI_TILE = 448
_XAI_TOKENS_PER_TILE = 256
_XAI_MAX_TILES = 6

#: Gemini 3.x: tokens per image for each ``media_resolution`` (an upper bound of what Google bills).
GEMINI_3_IMAGE_TOKENS = {"MEDIA_RESOLUTION_LOW": 280, "MEDIA_RESOLUTION_MEDIUM": 560, "MEDIA_RESOLUTION_HIGH": 1120}
#: What the Gemini tier asks for on 3.x: nameplates are small print, and high is Google's advice for images.
GEMINI_3_MEDIA_RESOLUTION = "MEDIA_RESOLUTION_HIGH"

#: Patch-scheme multipliers (older, higher figures where the OpenAI doc versions disagree).
_PATCH_MULTIPLIERS: dict[str, float] = {
    "gpt-4.1-mini": 1.62,
    "gpt-4.1-nano": 2.46,
    "o4-mini": 1.72,
    "gpt-5-mini": 1.62,
    "gpt-5-nano": 2.46,
}
#: Tile-scheme (base, per tile), longest prefix wins.
_TILE_RATES: dict[str, tuple[int, int]] = {
    "gpt-4o-mini": (2833, 5667),
    "gpt-4o": (85, 170),
    "gpt-4.1": (85, 170),
    "gpt-5": (70, 140),
    "o1": (75, 150),
    "o3": (75, 150),
}
_DEFAULT_TILE_RATE = (85, 170)

_PROVIDER_ALIASES = {
    "anthropic": "anthropic",
    "claude": "anthropic",
    "google": "google",
    "gemini": "google",
    "openai": "openai",
    "xai": "xai",
    "grok": "xai",
    "ollama": "ollama",
}


def claude_tokens(width: int, height: int) -> int:
    """Anthropic: ``ceil(w·h/750)`` after its own downscale to ≤1568 px and ≤~1,600 tokens."""
    width, height = _shrink_to(width, height, _CLAUDE_MAX_LONG_SIDE, _CLAUDE_MAX_PIXELS)
    return math.ceil(width * height / 750)


def gemini_model_tokens(model: str, width: int, height: int) -> int:
    """Gemini by generation: 2.x tiles, 3.x the fixed budget of the media_resolution the tier sets."""
    name = model.lower().removeprefix("models/")
    if name.startswith(("gemini-1", "gemini-2")):
        return gemini_tokens(width, height)
    budget = GEMINI_3_IMAGE_TOKENS[GEMINI_3_MEDIA_RESOLUTION]
    if name.startswith("gemini-3"):
        return budget
    return max(budget, gemini_tokens(width, height))  # a newer generation: whichever rule is higher


def xai_tokens(width: int, height: int) -> int:
    """xAI: 256 tokens per 448 px tile, at most 6 tiles, plus one extra tile."""
    tiles = math.ceil(width / _XAI_TILE) * math.ceil(height / _XAI_TILE)
    return _XAI_TOKENS_PER_TILE * (min(tiles, _XAI_MAX_TILES) + 1)


def gemini_tokens(width: int, height: int) -> int:
    """Gemini 2.x: 258 for ≤384×384, else 258 per 768 px tile (tile count assumed, see module doc)."""
    if width <= _GEMINI_SMALL_SIDE and height <= _GEMINI_SMALL_SIDE:
        return _GEMINI_TOKENS_PER_TILE
    tiles = math.ceil(width / _GEMINI_TILE) * math.ceil(height / _GEMINI_TILE)
    return _GEMINI_TOKENS_PER_TILE * tiles


def openai_patch_tokens(width: int, height: int, multiplier: float) -> int:
    """Patch scheme: 32 px patches capped at 1536 (image shrunk to fit), times the model's multiplier."""
    patches = math.ceil(width / _PATCH) * math.ceil(height / _PATCH)
    if patches > _PATCH_BUDGET:
        shrink = math.sqrt(_PATCH * _PATCH * _PATCH_BUDGET / (width * height))
        # Shrink a little more so whole patches along the tighter side fit in the budget.
        cols, rows = width * shrink / _PATCH, height * shrink / _PATCH
        shrink *= min(math.floor(cols) / cols, math.floor(rows) / rows)
        patches = math.ceil(int(width * shrink) / _PATCH) * math.ceil(int(height * shrink) / _PATCH)
    return math.ceil(patches * multiplier)


def openai_tile_tokens(width: int, height: int, base: int = 85, per_tile: int = 170) -> int:
    """Tile scheme (``detail`` high/auto): fit 2048², shortest side to 768, count 512 px tiles."""
    scale = min(1.0, 2048 / max(width, height))
    width_f, height_f = width * scale, height * scale
    if min(width_f, height_f) > 768:
        shrink = 768 / min(width_f, height_f)
        width_f, height_f = width_f * shrink, height_f * shrink
    tiles = math.ceil(math.floor(width_f) / 512) * math.ceil(math.floor(height_f) / 512)
    return base + per_tile * tiles


def openai_tokens(model: str, width: int, height: int) -> int:
    """Pick the scheme by model name (dated snapshots such as ``gpt-4.1-mini-2025-04-14`` match by prefix)."""
    name = model.lower().removeprefix("openai/")
    for prefix, multiplier in sorted(_PATCH_MULTIPLIERS.items(), key=lambda kv: -len(kv[0])):
        if name.startswith(prefix):
            return openai_patch_tokens(width, height, multiplier)
    for prefix, (base, per_tile) in sorted(_TILE_RATES.items(), key=lambda kv: -len(kv[0])):
        if name.startswith(prefix):
            return openai_tile_tokens(width, height, base, per_tile)
    # A model with no known rule (gpt-6-luna, …): whichever published scheme would bill more.
    highest = max(_PATCH_MULTIPLIERS.values())
    return max(openai_patch_tokens(width, height, highest), openai_tile_tokens(width, height, *_DEFAULT_TILE_RATE))


def estimate_image_tokens(provider: str, model: str, width: int, height: int) -> int:
    """Input tokens one ``width×height`` image is expected to cost on ``provider``/``model``."""
    if width <= 0 or height <= 0:
        raise ValueError(f"empty image {width}x{height}")
    kind = _PROVIDER_ALIASES.get(provider.lower())
    if kind == "ollama":
        return 0
    if kind == "anthropic":
        return claude_tokens(width, height)
    if kind == "google":
        return gemini_model_tokens(model, width, height)
    if kind == "openai":
        return openai_tokens(model, width, height)
    if kind == "xai":
        return xai_tokens(width, height)
    # Unknown provider: the highest of the published rules, so a reservation is never short.
    return max(
        claude_tokens(width, height),
        openai_tile_tokens(width, height),
        gemini_model_tokens("gemini-next", width, height),
        xai_tokens(width, height),
    )


def _shrink_to(width: int, height: int, max_long_side: int, max_pixels: int) -> tuple[int, int]:
    scale = min(1.0, max_long_side / max(width, height), math.sqrt(max_pixels / (width * height)))
    if scale >= 1.0:
        return width, height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
