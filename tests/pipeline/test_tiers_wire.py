"""Every tier, through its real SDK, against the fake providers on loopback: outcomes and error mapping.

The same table runs for all five tiers because the cascade relies on them behaving alike: one HTTP attempt
per analyze(), the same error class for the same HTTP status, timeouts and dead hosts as TierUnavailable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pipeline.errors import TierAuthError, TierModelNotFound, TierRateLimited, TierRejected, TierUnavailable
from pipeline.tiers import TIER_NAMES
from tests.fakes.http import free_port
from tests.fakes.providers import (
    Fail,
    FakeProviders,
    Text,
    fenced,
    hang,
    invalid_json,
    open_tier,
    rate_limited,
    server_error,
    tier_request,
    unauthorized,
)

FAST = {"cloud_timeout_s": 2.0, "ollama_timeout_s": 2.0}


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture(params=TIER_NAMES)
def name(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


async def test_good_answer_reads_usage_and_model_exactly(fake: FakeProviders, name: str) -> None:
    fake.script(name, Text('{"equipment_type": "motor", "confidence": 0.9}', 1111, 77, model="served-model-7"))
    async with open_tier(fake, name, **FAST) as tier:
        reply = await tier.analyze(tier_request())
    assert reply.text == '{"equipment_type": "motor", "confidence": 0.9}'
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (1111, 77)
    assert reply.model_reported == "served-model-7"
    assert reply.raw  # provenance kept for the ledger
    assert len(fake.calls(name)) == 1


@pytest.mark.parametrize("scripted", [fenced(), invalid_json()], ids=["fenced", "invalid"])
async def test_text_is_returned_verbatim_for_the_shared_parser(fake: FakeProviders, name: str, scripted: Text) -> None:
    fake.script(name, scripted)
    async with open_tier(fake, name, **FAST) as tier:
        reply = await tier.analyze(tier_request())
    assert reply.text == scripted.text
    assert reply.usage.input_tokens == scripted.input_tokens


@pytest.mark.parametrize(("retry_after", "expected"), [("7", 7.0), ("0.5", 0.5), (None, None)])
async def test_429_is_rate_limited_with_retry_after(
    fake: FakeProviders, name: str, retry_after: str | None, expected: float | None
) -> None:
    fake.script(name, rate_limited(retry_after))
    async with open_tier(fake, name, **FAST) as tier:
        with pytest.raises(TierRateLimited) as caught:
            await tier.analyze(tier_request())
    assert caught.value.retry_after == expected
    assert caught.value.tier == name
    assert len(fake.calls(name)) == 1  # the SDK did not retry on its own


async def test_429_with_http_date_retry_after(fake: FakeProviders, name: str) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    fake.script(name, rate_limited(when))
    async with open_tier(fake, name, **FAST) as tier:
        with pytest.raises(TierRateLimited) as caught:
            await tier.analyze(tier_request())
    assert caught.value.retry_after is not None
    assert 20 < caught.value.retry_after <= 31


@pytest.mark.parametrize("status", [500, 503, 529])
async def test_server_errors_are_unavailable_after_one_attempt(fake: FakeProviders, name: str, status: int) -> None:
    fake.script(name, server_error(status))
    async with open_tier(fake, name, **FAST) as tier:
        with pytest.raises(TierUnavailable) as caught:
            await tier.analyze(tier_request())
    assert str(status) in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)  # raised from the SDK's exception
    assert len(fake.calls(name)) == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_errors(fake: FakeProviders, name: str, status: int) -> None:
    fake.script(name, unauthorized() if status == 401 else Fail(403, "forbidden"))
    async with open_tier(fake, name, **FAST) as tier:
        with pytest.raises(TierAuthError):
            await tier.analyze(tier_request())
    assert len(fake.calls(name)) == 1


@pytest.mark.parametrize("status", [400, 404, 413, 422])
async def test_other_4xx_are_rejected(fake: FakeProviders, name: str, status: int) -> None:
    fake.script(name, Fail(status, "image too small"))
    async with open_tier(fake, name, **FAST) as tier:
        with pytest.raises(TierRejected, match="image too small"):
            await tier.analyze(tier_request())


async def test_hang_past_timeout_is_unavailable(fake: FakeProviders, name: str) -> None:
    fake.script(name, hang(1.5))
    async with open_tier(fake, name, cloud_timeout_s=0.3, ollama_timeout_s=0.3) as tier:
        started = time.monotonic()
        with pytest.raises(TierUnavailable, match="timed out"):
            await tier.analyze(tier_request())
        elapsed = time.monotonic() - started
    assert elapsed < 1.4  # gave up at its own timeout, did not wait for the answer
    assert len(fake.calls(name)) == 1


async def test_connection_refused_is_unavailable_quickly(fake: FakeProviders, name: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    dead_hosts = {
        "ollama_host": dead,
        "gemini_base_url": dead,
        "xai_base_url": dead + "/v1",
        "openai_base_url": dead + "/v1",
        "anthropic_base_url": dead,
    }
    async with open_tier(fake, name, **FAST, **dead_hosts) as tier:
        started = time.monotonic()
        with pytest.raises(TierUnavailable):
            await tier.analyze(tier_request())
        assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("cloud", "key_field"),
    [
        ("gemini", "gemini_api_key"),
        ("grok", "xai_api_key"),
        ("openai", "openai_api_key"),
        ("claude", "anthropic_api_key"),
    ],
)
async def test_wrong_key_is_auth_error(fake: FakeProviders, cloud: str, key_field: str) -> None:
    async with open_tier(fake, cloud, **FAST, **{key_field: "not-the-key"}) as tier:
        with pytest.raises(TierAuthError):
            await tier.analyze(tier_request())
    assert len(fake.calls(cloud)) == 1


async def test_probe_succeeds_against_the_fake(fake: FakeProviders, name: str) -> None:
    async with open_tier(fake, name, **FAST) as tier:
        description = await tier.probe()
    assert tier.model in description or name in description


MODEL_SETTING = {"ollama": "ollama_model", "gemini": "gemini_model", "grok": "xai_model", "claude": "anthropic_model",
                 "openai": "openai_model"}  # fmt: skip


async def test_list_models_returns_what_the_provider_lists(fake: FakeProviders, name: str) -> None:
    fake.ollama_models = ["granite3.2-vision:2b", "qwen3-vl:4b"]
    async with open_tier(fake, name, **FAST) as tier:
        listed = await tier.list_models()
    key = {"grok": "xai", "claude": "anthropic"}.get(name, name)
    assert listed == (fake.ollama_models if name == "ollama" else fake.catalogue[key])
    assert fake.calls(name, generation_only=False)[-1].method == "GET"


@pytest.mark.parametrize(
    ("cloud", "key_field"),
    [("gemini", "gemini_api_key"), ("grok", "xai_api_key"), ("claude", "anthropic_api_key"),
     ("openai", "openai_api_key")],
)  # fmt: skip
async def test_list_models_with_a_wrong_key_is_an_auth_error(fake: FakeProviders, cloud: str, key_field: str) -> None:
    async with open_tier(fake, cloud, **FAST, **{key_field: "not-the-key"}) as tier:
        with pytest.raises(TierAuthError):
            await tier.list_models()


async def test_a_model_the_provider_does_not_know_is_model_not_found(fake: FakeProviders, name: str) -> None:
    """Each cloud fake answers an unknown model in its provider's words; Ollama's 'not found' is scripted."""
    if name == "ollama":
        fake.script(name, Fail(404, 'model "retired-vision:1b" not found, try pulling it first'))
    async with open_tier(fake, name, **FAST, **{MODEL_SETTING[name]: "retired-vision-1"}) as tier:
        with pytest.raises(TierModelNotFound):
            await tier.analyze(tier_request())
