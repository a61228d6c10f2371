"""Claude tier: what the anthropic SDK sends, pure translation of its reply (cache tokens count as input)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.analysis import ANALYSIS_SCHEMA
from pipeline.errors import TierBadOutput, TierRejected
from pipeline.tiers.claude import _read_reply
from tests.fakes.providers import FAKE_KEYS, FakeProviders, Text, analysis_json, open_tier, tier_request


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


async def test_sends_images_then_text_with_schema(fake: FakeProviders) -> None:
    request = tier_request(images=2, max_output_tokens=900)
    async with open_tier(fake, "claude", anthropic_model="claude-haiku-4-5") as tier:
        await tier.analyze(request)
    (call,) = fake.calls("claude")
    assert call.path == "/anthropic/v1/messages"
    assert FAKE_KEYS["anthropic"] in (call.headers.get("x-api-key"), call.headers.get("authorization", "")[7:])
    assert "anthropic-version" in call.headers
    body = call.json()
    assert (body["model"], body["max_tokens"]) == ("claude-haiku-4-5", 900)
    *images, text = body["messages"][0]["content"]
    assert [base64.b64decode(i["source"]["data"]) for i in images] == [i.data for i in request.images]
    assert {i["source"]["media_type"] for i in images} == {"image/png"}
    assert text["text"].startswith(request.prompt)
    assert json.dumps(ANALYSIS_SCHEMA, separators=(",", ":")) in text["text"]


async def test_cache_reads_are_input_tokens(fake: FakeProviders) -> None:
    fake.script("claude", Text(analysis_json(), input_tokens=1000, output_tokens=80, cached_input_tokens=200))
    async with open_tier(fake, "claude") as tier:
        reply = await tier.analyze(tier_request())
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (1200, 80)


def test_read_reply_from_wire_json() -> None:
    raw: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [
            {"type": "thinking", "thinking": "hm"},
            {"type": "text", "text": '{"a":'},
            {"type": "text", "text": "1}"},
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1234, "output_tokens": 56, "cache_creation_input_tokens": 10},
    }
    reply = _read_reply("claude", raw)
    assert reply.text == '{"a":1}'
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (1244, 56)
    assert reply.model_reported == "claude-haiku-4-5-20251001"


def test_refusal_is_rejected() -> None:
    with pytest.raises(TierRejected):
        _read_reply("claude", {"content": [], "stop_reason": "refusal", "usage": {"input_tokens": 9}})


@pytest.mark.parametrize("content", [[], [{"type": "text", "text": "  "}], None])
def test_no_text_is_bad_output(content: Any) -> None:
    with pytest.raises(TierBadOutput, match="max_tokens"):
        _read_reply("claude", {"content": content, "stop_reason": "max_tokens"})
