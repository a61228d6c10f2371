"""Ollama tier: what the real client sends, pure request/reply translation, probe, timeouts."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pipeline.analysis import ANALYSIS_SCHEMA
from pipeline.errors import TierBadOutput, TierUnavailable
from pipeline.tiers.ollama import OllamaTier, _build_request, _read_reply
from tests.fakes.providers import FakeProviders, good, open_tier, tier_request


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


async def test_sends_images_schema_and_greedy_decoding(fake: FakeProviders) -> None:
    fake.script("ollama", good())
    request = tier_request(images=2, max_output_tokens=500)
    async with open_tier(fake, "ollama", ollama_model="qwen2.5vl:7b") as tier:
        await tier.analyze(request)
    (call,) = fake.calls("ollama")
    assert call.path == "/ollama/api/chat"
    body = call.json()
    assert body["model"] == "qwen2.5vl:7b"
    assert body["stream"] is False
    assert body["format"] == ANALYSIS_SCHEMA
    assert body["options"] == {"temperature": 0, "num_predict": 500}
    (message,) = body["messages"]
    assert message["content"] == request.prompt
    assert [base64.b64decode(i) for i in message["images"]] == [img.data for img in request.images]


def test_build_request_is_plain_data() -> None:
    request = tier_request()
    built = _build_request("m", request)
    assert built["messages"][0]["images"] == [base64.b64encode(request.images[0].data).decode()]
    assert built["format"] is request.json_schema


def test_read_reply_from_wire_json() -> None:
    raw: dict[str, Any] = {
        "model": "qwen2.5vl:3b",
        "message": {"role": "assistant", "content": '{"a": 1}'},
        "done": True,
        "prompt_eval_count": 700,
        "eval_count": 30,
    }
    reply = _read_reply("ollama", raw)
    assert (reply.text, reply.usage.input_tokens, reply.usage.output_tokens) == ('{"a": 1}', 700, 30)
    assert reply.model_reported == "qwen2.5vl:3b"
    assert reply.raw is raw


def test_read_reply_missing_counts_are_zero_not_guessed() -> None:
    reply = _read_reply("ollama", {"message": {"content": "{}"}})
    assert (reply.usage.input_tokens, reply.usage.output_tokens, reply.model_reported) == (0, 0, None)


@pytest.mark.parametrize("message", [{"content": ""}, {"content": "  \n"}, {}, None])
def test_read_reply_empty_is_bad_output(message: Any) -> None:
    with pytest.raises(TierBadOutput):
        _read_reply("ollama", {"message": message, "done_reason": "length"})


def test_connect_timeout_is_separate_from_read_timeout() -> None:
    tier = OllamaTier(host="http://127.0.0.1:9", model="m", timeout_s=45.0, connect_timeout_s=1.0)
    timeout: httpx.Timeout = tier._client._client.timeout
    assert (timeout.connect, timeout.read) == (1.0, 45.0)
    assert tier.is_local and tier.provider == "ollama"


async def test_probe_reports_a_model_that_is_not_pulled(fake: FakeProviders) -> None:
    fake.ollama_models = ["llava:7b"]
    async with open_tier(fake, "ollama", ollama_model="qwen2.5vl:3b") as tier:
        with pytest.raises(TierUnavailable, match=re.escape("ollama pull qwen2.5vl:3b")):
            await tier.probe()
    assert fake.calls("ollama", generation_only=False)[0].path == "/ollama/api/tags"


@pytest.mark.parametrize(("configured", "pulled"), [("qwen2.5vl:3b", "qwen2.5vl:3b"), ("llava", "llava:latest")])
async def test_probe_accepts_a_pulled_model(fake: FakeProviders, configured: str, pulled: str) -> None:
    fake.ollama_models = ["other:1b", pulled]
    async with open_tier(fake, "ollama", ollama_model=configured) as tier:
        assert configured in await tier.probe()
