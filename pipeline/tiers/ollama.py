"""The local tier: a vision model served by Ollama on the plant laptop.

It is free and private, so the cascade asks it first, but the laptop may be asleep or off the network: the
connect timeout is separate from (and much shorter than) the read timeout, so a dead host costs about a second
while a slow answer on a 4 GB GPU still gets its time. The Ollama client never retries.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import httpx
import ollama

from pipeline.errors import TierBadOutput, TierError, TierUnavailable
from pipeline.tiers._common import as_int, b64, error_for_status, short
from pipeline.types import ImagePolicy, TierReply, TierRequest, Usage

# Vision encoders on a small GPU pay per pixel in time, not money: qwen2.5-vl splits the image into 28 px
# patches, so 896 px (32 patches) keeps a nameplate legible at a few seconds per photo.
IMAGE_POLICY = ImagePolicy(max_long_side=896, max_pixels=896 * 672)


def _build_request(model: str, request: TierRequest) -> dict[str, Any]:
    """Keyword arguments of ``AsyncClient.chat``; images as base64 so the wire body is predictable."""
    return {
        "model": model,
        "messages": [
            {
                "role": "user",
                "content": request.prompt,
                "images": [b64(image) for image in request.images],
            }
        ],
        "format": request.json_schema,
        "options": {"temperature": 0, "num_predict": request.max_output_tokens},
        "stream": False,
    }


def _read_reply(tier: str, raw: dict[str, Any]) -> TierReply:
    """A ``/api/chat`` response body (as a dict) → TierReply; usage is prompt_eval_count / eval_count."""
    message = raw.get("message") or {}
    text = message.get("content") if isinstance(message, dict) else None
    usage = Usage(input_tokens=as_int(raw.get("prompt_eval_count")), output_tokens=as_int(raw.get("eval_count")))
    if not isinstance(text, str) or not text.strip():
        raise TierBadOutput(tier, f"empty reply (done_reason={raw.get('done_reason')!r})", usage=usage)
    model = raw.get("model")
    return TierReply(text=text, usage=usage, model_reported=model if isinstance(model, str) else None, raw=raw)


# ResponseError for HTTP errors, builtin ConnectionError for a dead host, raw httpx errors for timeouts,
# pydantic/JSON errors (ValueError) for a body that does not parse. Anything else is our bug.
_SDK_ERRORS = (ollama.ResponseError, httpx.HTTPError, OSError, ValueError)


# ollama.ResponseError keeps the status but drops the headers; a response hook records Retry-After for the
# request in flight (a ContextVar, so concurrent analyses on one client do not see each other's header).
_retry_after: ContextVar[str | None] = ContextVar("ollama_retry_after", default=None)


async def _remember_retry_after(response: httpx.Response) -> None:
    _retry_after.set(response.headers.get("retry-after"))


def _map_error(tier: str, exc: Exception) -> TierError:
    """Every exception the Ollama client raises, in one place."""
    if isinstance(exc, ollama.ResponseError):
        header = _retry_after.get()
        return error_for_status(tier, exc.status_code, exc.error, {"retry-after": header} if header else None)
    if isinstance(exc, httpx.TimeoutException):
        return TierUnavailable(tier, f"timed out ({type(exc).__name__})")
    if isinstance(exc, OSError | httpx.TransportError):
        return TierUnavailable(tier, f"cannot reach Ollama: {short(exc)}")
    return TierBadOutput(tier, f"unreadable response: {type(exc).__name__}: {short(exc)}")


class OllamaTier:
    provider = "ollama"
    is_local = True
    image_policy = IMAGE_POLICY

    def __init__(
        self,
        *,
        host: str,
        model: str,
        timeout_s: float,
        connect_timeout_s: float = 1.0,
        name: str = "ollama",
    ) -> None:
        self.name = name
        self.model = model
        timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        hooks = {"response": [_remember_retry_after]}
        self._client = ollama.AsyncClient(host=host, timeout=timeout, event_hooks=hooks)

    async def analyze(self, request: TierRequest) -> TierReply:
        _retry_after.set(None)
        try:
            response = await self._client.chat(**_build_request(self.model, request))
            raw = response.model_dump(mode="json", exclude_none=True)
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc
        return _read_reply(self.name, raw)

    async def probe(self) -> str:
        """List pulled models (``GET /api/tags``); a missing model is as good as no server."""
        try:
            listing = await self._client.list()
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc
        names = {m.model for m in listing.models if m.model}
        # "qwen2.5vl:3b" and "qwen2.5vl" (= ":latest") both name the same pulled model.
        wanted = {self.model, f"{self.model}:latest"} if ":" not in self.model else {self.model}
        if not names & wanted:
            raise TierUnavailable(self.name, f"model {self.model} is not pulled; run `ollama pull {self.model}`")
        return f"ollama {self.model} ready ({len(names)} models pulled)"

    async def list_models(self) -> list[str]:
        """``GET /api/tags``: the models pulled on this server."""
        try:
            listing = await self._client.list()
        except _SDK_ERRORS as exc:
            raise _map_error(self.name, exc) from exc
        return [m.model for m in listing.models if m.model]

    async def aclose(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]  # ollama 0.6 leaves close() unannotated
