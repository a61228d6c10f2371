"""OpenAI-compatible chat/completions tiers: xAI Grok ("grok") and OpenAI ("openai"), one class, two configs.

The openai SDK retries 408/409/429/5xx and connection errors twice by default, honouring Retry-After up to
120 s; in a cascade the next tier is the retry, so ``max_retries=0``. ``base_url`` is always passed
explicitly, otherwise ``OPENAI_BASE_URL`` in the environment would silently redirect both tiers.

Structured output: ``response_format={"type": "json_schema", "strict": False}``. Strict mode demands every
property be required and ``additionalProperties: false``, which our schema (optional fields with defaults) is
not; non-strict json_schema is accepted by OpenAI and by xAI's grok-4 family, and still steers the model with
the schema. ``json_object`` would also work on both but carries no schema and, on OpenAI, fails unless the
word "JSON" appears in the messages.
"""

from __future__ import annotations

import re
from typing import Any

import openai

from pipeline.errors import TierBadOutput, TierError, TierUnavailable
from pipeline.tiers._common import as_int, data_url, error_for_status, short
from pipeline.types import ImagePolicy, TierReply, TierRequest, Usage

# gpt-4.1-mini/gpt-5-mini count 32 px patches (1536-patch budget): 1024x768 → 768 patches ≈ 1.2k tokens,
# while 2048 px would hit the budget and be shrunk server-side anyway; tile-priced models (gpt-4o/4.1) cap
# the short side at 768 px, so 1024 px on the long side is also where they stop charging more for a 4:3
# photo. xAI bills 448 px tiles (at most 6, plus one): 1024×768 is 3×2 tiles, 1,792 tokens, its ceiling.
IMAGE_POLICY = ImagePolicy(max_long_side=1024, max_pixels=1024 * 768)

SCHEMA_NAME = "equipment_analysis"


# Reasoning is billed as output tokens and reading a nameplate needs none. xAI's grok-4.3 reasons unless told
# not to; its "May 15 retirement" migration page names grok-4.3 with reasoning effort "none" as the successor
# of the retired grok-4-1-fast models. (grok-4 and grok-4.20 reject the parameter, so it is per model.)
_REASONING_EFFORT = {"grok-4.3": "none"}


def _accepts_temperature(model: str) -> bool:
    """OpenAI reasoning models (o-series, gpt-5*) reject any temperature but the default with a 400."""
    return not re.match(r"(o\d|gpt-5)", model)


def _build_request(model: str, request: TierRequest) -> dict[str, Any]:
    """Keyword arguments of ``chat.completions.create`` (the JSON body the SDK sends, minus stream)."""
    content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt}]
    content += [
        {"type": "image_url", "image_url": {"url": data_url(image), "detail": "high"}} for image in request.images
    ]
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "max_completion_tokens": request.max_output_tokens,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "schema": request.json_schema, "strict": False},
        },
    }
    if _accepts_temperature(model):
        body["temperature"] = 0
    for prefix, effort in _REASONING_EFFORT.items():
        if model.startswith(prefix):
            body["reasoning_effort"] = effort
    return body


def _read_reply(tier: str, raw: dict[str, Any]) -> TierReply:
    """A chat.completion body → TierReply; usage is prompt_tokens / completion_tokens as reported
    (reasoning tokens are already inside completion_tokens)."""
    usage_raw = raw.get("usage") or {}
    usage = Usage(
        input_tokens=as_int(usage_raw.get("prompt_tokens")),
        output_tokens=as_int(usage_raw.get("completion_tokens")),
    )
    choices = raw.get("choices") or []
    if not choices:
        raise TierBadOutput(tier, "no choices in reply", usage=usage)
    message = choices[0].get("message") or {}
    text = message.get("content")
    if not isinstance(text, str) or not text.strip():
        refusal = message.get("refusal")
        detail = f"refusal: {short(refusal)}" if refusal else f"finish_reason={choices[0].get('finish_reason')!r}"
        raise TierBadOutput(tier, f"empty reply ({detail})", usage=usage)
    model = raw.get("model")
    return TierReply(text=text, usage=usage, model_reported=model if isinstance(model, str) else None, raw=raw)


# What the SDK raises (APIResponseValidationError included); anything else is our bug and must surface.
_SDK_ERRORS = (openai.OpenAIError,)


def _map_error(tier: str, exc: Exception) -> TierError:
    """Every exception the openai SDK raises, in one place. APITimeoutError subclasses APIConnectionError."""
    if isinstance(exc, openai.APIStatusError):
        return error_for_status(tier, exc.status_code, exc.message, exc.response.headers)
    if isinstance(exc, openai.APITimeoutError):
        return TierUnavailable(tier, "timed out")
    if isinstance(exc, openai.APIConnectionError):
        return TierUnavailable(tier, f"cannot connect: {short(exc)}")
    return TierBadOutput(tier, f"unreadable response: {type(exc).__name__}: {short(exc)}")


class OpenAICompatTier:
    is_local = False
    image_policy = IMAGE_POLICY

    def __init__(
        self,
        *,
        name: str,
        provider: str,
        api_key: str,
        model: str,
        base_url: str,
        timeout_s: float,
    ) -> None:
        self.name = name
        self.provider = provider
        self.model = model
        timeout = openai.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)

    async def analyze(self, request: TierRequest) -> TierReply:
        try:
            response = await self._client.chat.completions.create(**_build_request(self.model, request))
            raw = response.model_dump(mode="json", exclude_none=True)
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc
        return _read_reply(self.name, raw)

    async def probe(self) -> str:
        """``GET models/{model}``: checks key, base URL and model name without spending tokens."""
        try:
            info = await self._client.models.retrieve(self.model)
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc
        return f"{self.provider} {info.id} reachable"

    async def list_models(self) -> list[str]:
        """``GET models``: what this key can use (xAI answers the same call)."""
        try:
            return [model.id async for model in self._client.models.list()]
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc

    async def aclose(self) -> None:
        await self._client.close()
