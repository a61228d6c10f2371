"""The Gemini tier (google-genai SDK, Gemini Developer API), the cheapest cloud step of the cascade.

google-genai makes a single attempt unless retry options are given, has no default timeout (we always set
``HttpOptions.timeout``, in milliseconds), and does NOT wrap transport failures: a timeout or refused
connection surfaces as a raw ``httpx2`` (or ``httpx``) exception, which ``_map_error`` therefore handles.
The API version is pinned because the SDK's default moved from v1beta (2.x) to v1 (3.x) and
``responseJsonSchema`` is a v1beta feature.
"""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as gtypes

from pipeline.errors import TierBadOutput, TierError, TierRejected, TierUnavailable
from pipeline.imagetokens import GEMINI_3_MEDIA_RESOLUTION
from pipeline.tiers._common import as_int, error_for_status, short
from pipeline.types import ImagePolicy, TierReply, TierRequest, Usage

# Gemini 2.x bills an image as 258 tokens per 768x768 tile (≤384 px on both sides is one 258-token image);
# 768 px on the long side keeps a photo to one tile while a nameplate stays readable.
IMAGE_POLICY = ImagePolicy(max_long_side=768, max_pixels=768 * 768)

API_VERSION = "v1beta"


def _thinking_config(model: str) -> gtypes.ThinkingConfig | None:
    """Thinking tokens are billed as output and can eat the whole ``maxOutputTokens``; reading a nameplate
    needs none. Only the 2.5 Flash family accepts a zero budget (Pro rejects it, 3.x uses levels)."""
    if model.startswith("gemini-2.5-flash"):
        return gtypes.ThinkingConfig(thinking_budget=0)
    return None


def _media_resolution(model: str) -> gtypes.MediaResolution | None:
    """Gemini 3.x bills an image by ``media_resolution``, not by size; set it so the bill is the estimate's.
    2.x keeps the API default (its tile rule is what ``imagetokens`` estimates and the image policy targets)."""
    if model.startswith(("gemini-1", "gemini-2")):
        return None
    return gtypes.MediaResolution(GEMINI_3_MEDIA_RESOLUTION)


def _build_request(model: str, request: TierRequest) -> dict[str, Any]:
    """Keyword arguments of ``client.aio.models.generate_content``: images first, then the prompt."""
    parts = [gtypes.Part.from_bytes(data=image.data, mime_type=image.mime_type) for image in request.images]
    parts.append(gtypes.Part.from_text(text=request.prompt))
    config = gtypes.GenerateContentConfig(
        temperature=0.0,
        max_output_tokens=request.max_output_tokens,
        response_mime_type="application/json",
        response_json_schema=request.json_schema,
        thinking_config=_thinking_config(model),
        media_resolution=_media_resolution(model),
    )
    return {"model": model, "contents": [gtypes.Content(role="user", parts=parts)], "config": config}


def _read_reply(tier: str, raw: dict[str, Any]) -> TierReply:
    """A GenerateContentResponse as ``model_dump()`` gives it (snake_case) → TierReply.

    Input = prompt_token_count; output = candidates_token_count + thoughts_token_count, because thinking is
    billed at the output rate. Thought parts are not answer text.
    """
    meta = raw.get("usage_metadata") or {}
    usage = Usage(
        input_tokens=as_int(meta.get("prompt_token_count")),
        output_tokens=as_int(meta.get("candidates_token_count")) + as_int(meta.get("thoughts_token_count")),
    )
    candidates = raw.get("candidates") or []
    if not candidates:
        block = (raw.get("prompt_feedback") or {}).get("block_reason")
        if block:
            raise TierRejected(tier, f"prompt blocked ({block})", usage=usage)
        raise TierBadOutput(tier, "no candidates in reply", usage=usage)
    first = candidates[0]
    parts = (first.get("content") or {}).get("parts") or []
    text = "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought"))
    if not text.strip():
        raise TierBadOutput(tier, f"empty reply (finish_reason={first.get('finish_reason')!r})", usage=usage)
    model = raw.get("model_version")
    return TierReply(text=text, usage=usage, model_reported=model if isinstance(model, str) else None, raw=raw)


# google-genai has no common base: API errors, unwrapped transport errors, and pydantic/JSON errors when a
# body does not parse. Anything else is our bug and must surface.
_SDK_ERRORS = (genai_errors.APIError, httpx2.HTTPError, httpx.HTTPError, OSError, ValueError)


def _map_error(tier: str, exc: Exception) -> TierError:
    """Every exception google-genai lets out, in one place (transport errors arrive unwrapped)."""
    if isinstance(exc, genai_errors.APIError):
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        return error_for_status(tier, exc.code, exc.message or exc.status or exc, headers)
    if isinstance(exc, httpx2.TimeoutException | httpx.TimeoutException | TimeoutError):
        return TierUnavailable(tier, f"timed out ({type(exc).__name__})")
    if isinstance(exc, httpx2.TransportError | httpx.TransportError | OSError):
        return TierUnavailable(tier, f"cannot reach Gemini: {type(exc).__name__}: {short(exc)}")
    return TierBadOutput(tier, f"unreadable response: {type(exc).__name__}: {short(exc)}")


class GeminiTier:
    provider = "google"
    is_local = False
    image_policy = IMAGE_POLICY

    def __init__(self, *, api_key: str, model: str, base_url: str, timeout_s: float, name: str = "gemini") -> None:
        self.name = name
        self.model = model
        options = gtypes.HttpOptions(
            base_url=base_url, api_version=API_VERSION, timeout=max(1, round(timeout_s * 1000))
        )
        self._client = genai.Client(api_key=api_key, http_options=options)

    async def analyze(self, request: TierRequest) -> TierReply:
        try:
            response = await self._client.aio.models.generate_content(**_build_request(self.model, request))
            raw = response.model_dump(mode="json", exclude_none=True)
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc
        return _read_reply(self.name, raw)

    async def probe(self) -> str:
        """``GET models/{model}``: proves the key, the base URL and the model name without spending tokens."""
        try:
            info = await self._client.aio.models.get(model=self.model)
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc
        return f"gemini {info.name or self.model} reachable"

    async def list_models(self) -> list[str]:
        """``GET models`` (all pages): ids without the ``models/`` prefix the API puts on them."""
        try:
            pager = await self._client.aio.models.list(config={"page_size": 1000})
            return [model.name.removeprefix("models/") async for model in pager if model.name]
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        self._client.close()
