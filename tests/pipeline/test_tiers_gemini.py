"""Gemini tier: what google-genai sends, pure translation of its reply, thinking billed as output."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from google.genai import types as gtypes

from pipeline.analysis import ANALYSIS_SCHEMA
from pipeline.errors import TierBadOutput, TierRejected
from pipeline.tiers.gemini import _build_request, _read_reply, _thinking_config
from tests.fakes.providers import FAKE_KEYS, FakeProviders, Text, analysis_json, open_tier, tier_request


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


def _from_wire(wire: dict[str, Any]) -> dict[str, Any]:
    """What the tier hands to ``_read_reply``: the SDK's parsed response, dumped."""
    return gtypes.GenerateContentResponse.model_validate(wire).model_dump(mode="json", exclude_none=True)


async def test_sends_image_schema_and_key_to_pinned_v1beta(fake: FakeProviders) -> None:
    request = tier_request(max_output_tokens=600)
    async with open_tier(fake, "gemini", gemini_model="gemini-2.5-flash-lite") as tier:
        await tier.analyze(request)
    (call,) = fake.calls("gemini")
    assert call.path == "/gemini/v1beta/models/gemini-2.5-flash-lite:generateContent"
    assert call.headers["x-goog-api-key"] == FAKE_KEYS["gemini"]
    body = call.json()
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == ANALYSIS_SCHEMA
    assert config["maxOutputTokens"] == 600
    # google-genai 3.4 sends this one snake_case (as it does inlineData's mime_type); proto JSON accepts both.
    assert config["thinkingConfig"] in ({"thinkingBudget": 0}, {"thinking_budget": 0})
    image_part, text_part = body["contents"][0]["parts"]
    # google-genai serialises bytes as URL-safe base64 ('-', '_'), which the Gemini API accepts.
    assert base64.urlsafe_b64decode(image_part["inlineData"]["data"]) == request.images[0].data
    assert image_part["inlineData"]["mime_type"] == "image/png"
    assert text_part == {"text": request.prompt}


async def test_thinking_tokens_are_billed_as_output(fake: FakeProviders) -> None:
    fake.script("gemini", Text(analysis_json(), input_tokens=300, output_tokens=90, reasoning_tokens=400))
    async with open_tier(fake, "gemini") as tier:
        reply = await tier.analyze(tier_request())
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (300, 490)


@pytest.mark.parametrize(
    ("model", "budget"),
    [("gemini-2.5-flash-lite", 0), ("gemini-2.5-flash", 0), ("gemini-2.5-pro", None), ("gemini-3-flash", None)],
)
def test_thinking_budget_only_where_zero_is_accepted(model: str, budget: int | None) -> None:
    config = _thinking_config(model)
    assert (config.thinking_budget if config else None) == budget
    built = _build_request(model, tier_request())
    assert built["config"].thinking_config == config


@pytest.mark.parametrize(
    ("model", "sent"),
    [("gemini-2.5-flash-lite", None), ("gemini-3.1-flash-lite", "MEDIA_RESOLUTION_HIGH"),
     ("gemini-3.5-flash-lite", "MEDIA_RESOLUTION_HIGH")],
)  # fmt: skip
async def test_gemini_3_requests_set_media_resolution(fake: FakeProviders, model: str, sent: str | None) -> None:
    """3.x bills an image by media_resolution: the request names it, so the reservation's estimate holds."""
    async with open_tier(fake, "gemini", gemini_model=model) as tier:
        await tier.analyze(tier_request())
    config = fake.calls("gemini")[-1].json()["generationConfig"]
    assert config.get("mediaResolution") == sent


def test_read_reply_from_wire_json_skips_thought_parts() -> None:
    wire = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "thinking...", "thought": True}, {"text": '{"a":'}, {"text": " 1}"}],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 265, "candidatesTokenCount": 20, "thoughtsTokenCount": 12},
        "modelVersion": "gemini-2.5-flash-lite-001",
    }
    reply = _read_reply("gemini", _from_wire(wire))
    assert reply.text == '{"a": 1}'
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (265, 32)
    assert reply.model_reported == "gemini-2.5-flash-lite-001"


def test_blocked_prompt_is_rejected() -> None:
    wire = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 10}}
    with pytest.raises(TierRejected, match="SAFETY"):
        _read_reply("gemini", _from_wire(wire))


@pytest.mark.parametrize(
    "wire",
    [
        {"candidates": []},
        {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "MAX_TOKENS"}]},
        {"candidates": [{"finishReason": "MAX_TOKENS"}]},
    ],
)
def test_no_text_is_bad_output(wire: dict[str, Any]) -> None:
    with pytest.raises(TierBadOutput):
        _read_reply("gemini", _from_wire(wire))
