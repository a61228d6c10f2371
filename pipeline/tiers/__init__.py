"""Provider tiers: one module per provider, each class satisfying ``pipeline.types.Tier``.

``build_tiers`` is the only constructor the rest of the code needs: it turns settings into ready tiers, and
skips (rather than fails on) a tier that has no host or key, so ``CASCADE`` can list every tier while a
deployment configures only some of them. Nothing here opens a connection until ``analyze``/``probe``.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.settings import PipelineSettings
from pipeline.tiers.claude import ClaudeTier
from pipeline.tiers.gemini import GeminiTier
from pipeline.tiers.ollama import OllamaTier
from pipeline.tiers.openai_compat import OpenAICompatTier
from pipeline.types import Tier

__all__ = ["TIER_NAMES", "ClaudeTier", "GeminiTier", "OllamaTier", "OpenAICompatTier", "build_tiers"]


def _secret(settings: PipelineSettings, field: str) -> str:
    value = getattr(settings, field)
    return value.get_secret_value().strip() if value is not None else ""


def _ollama(s: PipelineSettings) -> Tier | None:
    if not s.ollama_host.strip():
        return None
    return OllamaTier(
        host=s.ollama_host,
        model=s.ollama_model,
        timeout_s=s.ollama_timeout_s,
        connect_timeout_s=s.ollama_connect_timeout_s,
    )


def _gemini(s: PipelineSettings) -> Tier | None:
    if not (key := _secret(s, "gemini_api_key")):
        return None
    return GeminiTier(api_key=key, model=s.gemini_model, base_url=s.gemini_base_url, timeout_s=s.cloud_timeout_s)


def _grok(s: PipelineSettings) -> Tier | None:
    if not (key := _secret(s, "xai_api_key")):
        return None
    return OpenAICompatTier(
        name="grok", provider="xai", api_key=key, model=s.xai_model, base_url=s.xai_base_url,
        timeout_s=s.cloud_timeout_s,
    )  # fmt: skip


def _openai(s: PipelineSettings) -> Tier | None:
    if not (key := _secret(s, "openai_api_key")):
        return None
    return OpenAICompatTier(
        name="openai", provider="openai", api_key=key, model=s.openai_model, base_url=s.openai_base_url,
        timeout_s=s.cloud_timeout_s,
    )  # fmt: skip


def _claude(s: PipelineSettings) -> Tier | None:
    if not (key := _secret(s, "anthropic_api_key")):
        return None
    return ClaudeTier(api_key=key, model=s.anthropic_model, base_url=s.anthropic_base_url, timeout_s=s.cloud_timeout_s)


_BUILDERS: dict[str, Callable[[PipelineSettings], Tier | None]] = {
    "ollama": _ollama,
    "gemini": _gemini,
    "grok": _grok,
    "claude": _claude,
    "openai": _openai,
}

TIER_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def build_tiers(settings: PipelineSettings, names: list[str]) -> dict[str, Tier]:
    """Build the named tiers that are configured, in the order given; unconfigured ones are left out.

    Raises ValueError for a name that is not a tier (a typo in ``CASCADE`` should stop start-up, not
    silently drop a tier). The caller owns the returned tiers and must ``aclose()`` them.
    """
    unknown = [n for n in names if n not in _BUILDERS]
    if unknown:
        raise ValueError(f"unknown tier name(s) {', '.join(map(repr, unknown))}; known: {', '.join(TIER_NAMES)}")
    tiers: dict[str, Tier] = {}
    for name in dict.fromkeys(names):
        tier = _BUILDERS[name](settings)
        if tier is not None:
            tiers[name] = tier
    return tiers
