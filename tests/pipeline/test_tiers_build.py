"""build_tiers (which tiers exist for which settings) and the shared status/Retry-After rules."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest

from pipeline.errors import TierAuthError, TierModelNotFound, TierRateLimited, TierRejected, TierUnavailable
from pipeline.settings import PipelineSettings
from pipeline.tiers import TIER_NAMES, build_tiers
from pipeline.tiers._common import error_for_status, parse_retry_after

NOTHING: dict[str, Any] = {
    "ollama_host": "",
    "gemini_api_key": None,
    "xai_api_key": None,
    "anthropic_api_key": None,
    "openai_api_key": None,
}


def _settings(**values: Any) -> PipelineSettings:
    return PipelineSettings(_env_file=None, **{**NOTHING, **values})


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ({}, []),
        ({"ollama_host": "http://laptop:11434"}, ["ollama"]),
        ({"ollama_host": "   "}, []),
        ({"gemini_api_key": "g"}, ["gemini"]),
        ({"gemini_api_key": "  "}, []),
        ({"xai_api_key": "x"}, ["grok"]),
        ({"anthropic_api_key": "a"}, ["claude"]),
        ({"openai_api_key": "o"}, ["openai"]),
        ({"ollama_host": "http://l:1", "xai_api_key": "x", "anthropic_api_key": "a"}, ["ollama", "grok", "claude"]),
    ],
)
async def test_only_configured_tiers_are_built(configured: dict[str, Any], expected: list[str]) -> None:
    tiers = build_tiers(_settings(**configured), list(TIER_NAMES))
    try:
        assert list(tiers) == expected
    finally:
        for tier in tiers.values():
            await tier.aclose()


async def test_order_follows_names_and_duplicates_collapse() -> None:
    tiers = build_tiers(_settings(gemini_api_key="g", anthropic_api_key="a"), ["claude", "gemini", "claude"])
    try:
        assert list(tiers) == ["claude", "gemini"]
    finally:
        for tier in tiers.values():
            await tier.aclose()


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(
        ValueError, match=r"unknown tier name\(s\) 'gemni'.*known: ollama, gemini, grok, claude, openai"
    ):
        build_tiers(_settings(), ["ollama", "gemni"])


async def test_tier_attributes() -> None:
    everything = {"ollama_host": "http://l:1", "gemini_api_key": "g", "xai_api_key": "x", "anthropic_api_key": "a",
                  "openai_api_key": "o"}  # fmt: skip
    tiers = build_tiers(_settings(**everything, xai_model="grok-x"), list(TIER_NAMES))
    try:
        seen = {n: (t.name, t.provider, t.is_local, t.image_policy.max_long_side) for n, t in tiers.items()}
        assert seen == {
            "ollama": ("ollama", "ollama", True, 896),
            "gemini": ("gemini", "google", False, 768),
            "grok": ("grok", "xai", False, 1024),
            "claude": ("claude", "anthropic", False, 1456),
            "openai": ("openai", "openai", False, 1024),
        }
        assert tiers["grok"].model == "grok-x"
        for tier in tiers.values():
            policy = tier.image_policy
            assert policy.max_pixels <= policy.max_long_side**2
    finally:
        for tier in tiers.values():
            await tier.aclose()


NOW = 1_763_769_600.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (400, "The model grok-4-1-fast-non-reasoning does not exist or your team does not have access to it.",
         TierModelNotFound),
        (404, "models/gemini-2.5-flash is not found for API version v1beta", TierModelNotFound),
        (400, "Image too small", TierRejected),
        (400, "Invalid value for 'response_format': not supported with this model", TierRejected),
    ],
)  # fmt: skip
def test_model_not_found_is_told_apart_from_a_bad_request(status: int, message: str, kind: type[Exception]) -> None:
    assert type(error_for_status("grok", status, message)) is kind


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, TierRejected),
        (401, TierAuthError),
        (403, TierAuthError),
        (404, TierModelNotFound),
        (408, TierUnavailable),
        (409, TierUnavailable),
        (413, TierRejected),
        (422, TierRejected),
        (429, TierRateLimited),
        (500, TierUnavailable),
        (502, TierUnavailable),
        (503, TierUnavailable),
        (529, TierUnavailable),
    ],
)
def test_error_for_status(status: int, kind: type[Exception]) -> None:
    error = error_for_status("gemini", status, "boom " * 200, {"retry-after": "3"})
    assert type(error) is kind
    assert error.tier == "gemini"
    assert len(error.message) < 320  # long provider bodies are cut to one line
    if isinstance(error, TierRateLimited):
        assert error.retry_after == 3.0
