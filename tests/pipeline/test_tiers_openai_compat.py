"""OpenAI-compatible tiers (grok, openai): what the openai SDK sends, pure translation of its reply."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.analysis import ANALYSIS_SCHEMA
from pipeline.errors import TierBadOutput
from pipeline.tiers.openai_compat import _build_request, _read_reply
from tests.fakes.providers import FAKE_KEYS, FakeProviders, Text, analysis_json, open_tier, tier_request


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.mark.parametrize(("name", "provider", "path"), [("grok", "xai", "/xai/v1"), ("openai", "openai", "/openai/v1")])
async def test_sends_image_schema_and_key(fake: FakeProviders, name: str, provider: str, path: str) -> None:
    request = tier_request(max_output_tokens=700)
    async with open_tier(fake, name) as tier:
        assert tier.provider == provider
        await tier.analyze(request)
    (call,) = fake.calls(name)
    assert call.path == f"{path}/chat/completions"
    assert call.headers["authorization"] == f"Bearer {FAKE_KEYS[provider]}"
    assert call.headers["x-stainless-retry-count"] == "0"
    body = call.json()
    assert body["model"] == tier.model
    assert body["max_completion_tokens"] == 700
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "equipment_analysis", "schema": ANALYSIS_SCHEMA, "strict": False},
    }
    text, image = body["messages"][0]["content"]
    assert text == {"type": "text", "text": request.prompt}
    assert image["image_url"]["detail"] == "high"
    header, _, data = image["image_url"]["url"].partition(",")
    assert header == "data:image/png;base64"
    assert base64.b64decode(data) == request.images[0].data


async def test_grok_and_openai_do_not_share_a_key_or_host(fake: FakeProviders) -> None:
    async with open_tier(fake, "grok") as grok, open_tier(fake, "openai") as openai_tier:
        await grok.analyze(tier_request())
        await openai_tier.analyze(tier_request())
    assert len(fake.calls("xai")) == len(fake.calls("openai")) == 1


async def test_cached_and_reasoning_tokens_stay_inside_reported_totals(fake: FakeProviders) -> None:
    fake.script("openai", Text(analysis_json(), 900, 120, reasoning_tokens=64, cached_input_tokens=512))
    async with open_tier(fake, "openai") as tier:
        reply = await tier.analyze(tier_request())
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (900, 120)


@pytest.mark.parametrize(("model", "has_temperature"), [("gpt-4.1-mini", True), ("grok-4-1-fast-non-reasoning", True),
                                                       ("gpt-5-mini", False), ("o4-mini", False)])  # fmt: skip
def test_temperature_only_for_models_that_accept_it(model: str, has_temperature: bool) -> None:
    assert ("temperature" in _build_request(model, tier_request())) is has_temperature


@pytest.mark.parametrize(("model", "effort"), [("grok-4.3", "none"), ("grok-4.20-non-reasoning", None)])
async def test_grok_4_3_is_asked_not_to_reason(fake: FakeProviders, model: str, effort: str | None) -> None:
    async with open_tier(fake, "grok", xai_model=model) as tier:
        await tier.analyze(tier_request())
    assert fake.calls("grok")[-1].json().get("reasoning_effort") == effort


@pytest.mark.parametrize(("model", "effort"), [("grok-4.3-latest", "none"), ("gpt-4.1-mini", None), ("o4-mini", None)])
def test_reasoning_effort_is_per_model(model: str, effort: str | None) -> None:
    assert _build_request(model, tier_request()).get("reasoning_effort") == effort


def test_read_reply_from_wire_json() -> None:
    raw: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "grok-4-1-fast-non-reasoning",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{}"}}],
        "usage": {"prompt_tokens": 111, "completion_tokens": 22, "total_tokens": 133},
    }
    reply = _read_reply("grok", raw)
    assert (reply.text, reply.usage.input_tokens, reply.usage.output_tokens) == ("{}", 111, 22)
    assert reply.model_reported == "grok-4-1-fast-non-reasoning"


@pytest.mark.parametrize(
    ("choices", "match"),
    [
        ([], "no choices"),
        ([{"finish_reason": "length", "message": {"content": None}}], "length"),
        ([{"finish_reason": "stop", "message": {"content": None, "refusal": "I can't help"}}], "refusal"),
    ],
)
def test_no_text_is_bad_output(choices: list[dict[str, Any]], match: str) -> None:
    with pytest.raises(TierBadOutput, match=match):
        _read_reply("openai", {"choices": choices, "usage": {"prompt_tokens": 5}})
