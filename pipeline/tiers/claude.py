"""The Claude tier (anthropic SDK, Messages API): the most careful and most expensive cloud step.

The anthropic SDK retries 408/409/429/5xx twice and honours ANY Retry-After (no cap), so a single 429 could
park a photo for minutes: ``max_retries=0``, the cascade decides what happens next. We ask for JSON in the
prompt and append the schema rather than use ``output_config`` structured output: it works for every Claude
model the bot may be pointed at, and the shared parser already tolerates a ```json fence.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic

from pipeline.errors import TierBadOutput, TierError, TierRejected, TierUnavailable
from pipeline.tiers._common import as_int, b64, error_for_status, short
from pipeline.types import ImagePolicy, TierReply, TierRequest, Usage

# Claude charges (w*h)/750 tokens and downsizes anything over ~1600 tokens or 1568 px itself, so pixels past
# that band are paid for in upload time and thrown away. Anthropic recommends ≤1.15 MP (≈1530 tokens); the
# 1456 px long side admits a 9:16 phone shot at full band while the pixel cap binds for squarer photos.
IMAGE_POLICY = ImagePolicy(max_long_side=1456, max_pixels=1_150_000)

JSON_INSTRUCTION = (
    "\n\nAnswer with a single JSON object only (no prose before or after it) that follows this JSON Schema:\n"
)


def _build_request(model: str, request: TierRequest) -> dict[str, Any]:
    """Keyword arguments of ``messages.create``: image blocks first (Anthropic's advice), then the text."""
    content: list[dict[str, Any]] = [
        {"type": "image", "source": {"type": "base64", "media_type": image.mime_type, "data": b64(image)}}
        for image in request.images
    ]
    text = request.prompt + JSON_INSTRUCTION + json.dumps(request.json_schema, separators=(",", ":"))
    content.append({"type": "text", "text": text})
    return {
        "model": model,
        "max_tokens": request.max_output_tokens,
        "messages": [{"role": "user", "content": content}],
    }


def _read_reply(tier: str, raw: dict[str, Any]) -> TierReply:
    """A Message body → TierReply. Cache writes and reads are input tokens too (billed at their own rate,
    but the ledger records tokens, and the price table prices them)."""
    usage_raw = raw.get("usage") or {}
    usage = Usage(
        input_tokens=as_int(usage_raw.get("input_tokens"))
        + as_int(usage_raw.get("cache_creation_input_tokens"))
        + as_int(usage_raw.get("cache_read_input_tokens")),
        output_tokens=as_int(usage_raw.get("output_tokens")),
    )
    blocks = raw.get("content") or []
    text = "".join(b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str))
    if not text.strip():
        stop = raw.get("stop_reason")
        if stop == "refusal":
            raise TierRejected(tier, "the model refused this request", usage=usage)
        raise TierBadOutput(tier, f"empty reply (stop_reason={stop!r})", usage=usage)
    model = raw.get("model")
    return TierReply(text=text, usage=usage, model_reported=model if isinstance(model, str) else None, raw=raw)


# What the SDK raises (APIResponseValidationError included); anything else is our bug and must surface.
_SDK_ERRORS = (anthropic.AnthropicError,)


def _map_error(tier: str, exc: Exception) -> TierError:
    """Every exception the anthropic SDK raises, in one place (529 Overloaded is a 5xx here)."""
    if isinstance(exc, anthropic.APIStatusError):
        return error_for_status(tier, exc.status_code, exc.message, exc.response.headers)
    if isinstance(exc, anthropic.APITimeoutError):
        return TierUnavailable(tier, "timed out")
    if isinstance(exc, anthropic.APIConnectionError):
        return TierUnavailable(tier, f"cannot connect: {short(exc)}")
    return TierBadOutput(tier, f"unreadable response: {type(exc).__name__}: {short(exc)}")


class ClaudeTier:
    provider = "anthropic"
    is_local = False
    image_policy = IMAGE_POLICY

    def __init__(self, *, api_key: str, model: str, base_url: str, timeout_s: float, name: str = "claude") -> None:
        self.name = name
        self.model = model
        timeout = anthropic.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self._client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)

    async def analyze(self, request: TierRequest) -> TierReply:
        try:
            response = await self._client.messages.create(**_build_request(self.model, request))
            raw = response.model_dump(mode="json", exclude_none=True)
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc
        return _read_reply(self.name, raw)

    async def probe(self) -> str:
        """``GET /v1/models/{model}``: checks key, base URL and model name without spending tokens."""
        try:
            info = await self._client.models.retrieve(self.model)
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc
        return f"anthropic {info.id} reachable"

    async def list_models(self) -> list[str]:
        """``GET /v1/models`` (all pages). Anthropic lists dated ids; aliases resolve only through ``probe``."""
        try:
            return [model.id async for model in self._client.models.list(limit=1000)]
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc

    async def aclose(self) -> None:
        await self._client.close()
