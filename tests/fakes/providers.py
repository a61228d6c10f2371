"""Fake model providers on loopback, speaking each real wire protocol, for tests that run the real SDKs.

One ``FakeServer`` hosts all five under path prefixes (every SDK accepts a prefix in its base URL)::

    /ollama      POST /api/chat, GET /api/tags
    /gemini      POST /{v1beta|v1}/models/{model}:generateContent, GET /{v1beta|v1}/models[/{model}]
    /xai/v1      POST /chat/completions, GET /models[/{model}]
    /openai/v1   POST /chat/completions, GET /models[/{model}]
    /anthropic   POST /v1/messages, GET /v1/models[/{model}]

Each cloud provider has a ``catalogue`` of the models a key can use (today's real ids, editable per test):
the models-list calls answer with it, and a model outside it gets the provider's own "not found" answer from
both the model-info and the generation endpoints, as a retired model does. Anthropic lists dated ids only and
resolves the undated alias, as the real API does.

Each provider has a queue of scripted outcomes, provider-neutral so one script works everywhere: ``Text``
(a successful answer with token counts, optionally after a delay) or ``Fail`` (an HTTP error rendered in that
provider's error-body shape, optionally with ``Retry-After``); a raw ``Reply`` passes through untouched. When
the queue is empty the provider's default answer is served: a valid analysis for a request with an image, a
valid question answer (``answer_json``) for a text-only request. A text-only request is answered in the same
wire shape with what differs for text: Gemini's ``promptTokensDetails`` then lists only the TEXT modality (as
the real API does for a prompt without an image). Cloud fakes check the API key
header and answer 401 for a wrong one, as the real services do. Typical use::

    with FakeProviders() as fake:
        settings = fake.settings(cloud_timeout_s=0.5)
        fake.script("gemini", rate_limited("7"), good(confidence=0.9))
        ...  # run code built from `settings`
        assert fake.calls("gemini")[0].headers["x-goog-api-key"] == FAKE_KEYS["gemini"]
"""

from __future__ import annotations

import collections
import contextlib
import io
import itertools
import json
import re
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from pipeline.analysis import ANALYSIS_SCHEMA, build_prompt
from pipeline.settings import PipelineSettings
from pipeline.tiers import build_tiers
from pipeline.types import PreparedImage, Tier, TierRequest
from tests.fakes.http import FakeServer, Recorded, Reply

PROVIDERS = ("ollama", "gemini", "xai", "openai", "anthropic")
PREFIXES = {
    "ollama": "/ollama",
    "gemini": "/gemini",
    "xai": "/xai/v1",
    "openai": "/openai/v1",
    "anthropic": "/anthropic",
}
# Tier and provider names that people will naturally reach for, mapped to the fake's provider keys.
_ALIASES = {"grok": "xai", "claude": "anthropic", "google": "gemini"}
FAKE_KEYS = {
    "gemini": "fake-gemini-key",
    "xai": "fake-xai-key",
    "openai": "fake-openai-key",
    "anthropic": "fake-anthropic-key",
}
DEFAULT_OLLAMA_MODEL = PipelineSettings.model_fields["ollama_model"].default
# What each provider listed on 2026-11-30 for the models this project uses (../shared/notes/MODELS-2026-11.md).
CATALOGUES = {
    "gemini": ["gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-3.1-flash-lite", "gemini-3.5-flash-lite"],
    "xai": ["grok-4.3", "grok-4.20-non-reasoning"],
    "openai": ["gpt-4.1-mini", "gpt-4.1", "gpt-5-mini", "gpt-5-nano", "gpt-6-luna"],
    "anthropic": ["claude-haiku-5-5-20261007", "claude-haiku-4-5-20251001"],
}
# The provider's answer for a model it does not know (status, message), as each API words it.
_NOT_FOUND = {
    "gemini": "models/{model} is not found for API version v1beta, or is not supported for generateContent.",
    "xai": "The model {model} does not exist or your team does not have access to it.",
    "openai": "The model `{model}` does not exist or you do not have access to it.",
    "anthropic": "model: {model}",
}


# -- scripted outcomes ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    """A successful answer. ``model`` None echoes the requested model. For Gemini, ``reasoning_tokens`` is
    reported as thoughtsTokenCount on top of output_tokens; OpenAI reports them inside completion_tokens."""

    text: str
    input_tokens: int = 1234
    output_tokens: int = 56
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0
    model: str | None = None
    delay: float = 0.0
    hold: threading.Event | None = None  # answer only once set: for tests about what happens meanwhile


@dataclass(frozen=True)
class Fail:
    status: int
    message: str = "scripted failure"
    retry_after: str | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Held:
    """The call arrives (``arrived`` is set) and waits until the test sets ``release``; then ``then`` is served.
    For tests that need a caller busy at a known point (a worker mid-analysis) without guessing a duration."""

    then: Text | Fail
    arrived: threading.Event
    release: threading.Event


def held(then: Text | Fail | None = None) -> Held:
    return Held(then or good(), threading.Event(), threading.Event())


Scripted = Text | Fail | Reply | Held


def analysis_json(**overrides: Any) -> str:
    """A valid analysis (a VFD showing an overcurrent fault) as the JSON text a model would return."""
    value: dict[str, Any] = {
        "equipment_type": "VFD",
        "manufacturer": "Allen-Bradley",
        "model": "PowerFlex 525",
        "serial_number": "A1B2C3D4",
        "ratings": {"voltage": "480 V", "power": "7.5 kW", "current": "12 A"},
        "fault_codes": ["F004"],
        "condition": "fault",
        "summary": "The drive shows F004 (UnderVoltage): DC bus voltage fell below its minimum.",
        "recommended_actions": ["Check incoming line voltage", "Inspect the DC bus fuses"],
        "safety_notes": ["Apply lockout/tagout and wait for the DC bus to discharge before opening the drive"],
        "priority": "high",
        "confidence": 0.86,
    }
    value.update(overrides)
    return json.dumps(value)


DEFAULT_ANSWER = "F004 is UnderVoltage: the DC bus fell below its minimum."


def answer_json(answer: str = DEFAULT_ANSWER, confidence: float = 0.8) -> str:
    """A valid answer to a text-only question, as the JSON text a model would return."""
    return json.dumps({"answer": answer, "confidence": confidence})


def answered(answer: str = DEFAULT_ANSWER, confidence: float = 0.8, **usage: Any) -> Text:
    """A scripted answer to a text-only question (fewer input tokens than a photo: no image)."""
    return Text(answer_json(answer, confidence), **{"input_tokens": 420, "output_tokens": 40, **usage})


def has_image(provider: str, body: dict[str, Any]) -> bool:
    """Whether a generation request carries an image, read from each provider's own request shape."""
    if provider == "gemini":
        parts = [p for c in body.get("contents", []) for p in c.get("parts", [])]
        return any("inlineData" in p or "inline_data" in p for p in parts)
    messages = body.get("messages", [])
    if provider == "ollama":
        return any(m.get("images") for m in messages)
    kind = "image" if provider == "anthropic" else "image_url"
    return any(
        isinstance(block, dict) and block.get("type") == kind
        for m in messages
        if isinstance(m.get("content"), list)
        for block in m["content"]
    )


def good(**overrides: Any) -> Text:
    return Text(analysis_json(**overrides))


def fenced(**overrides: Any) -> Text:
    return Text(f"Here is the analysis:\n```json\n{analysis_json(**overrides)}\n```")


def invalid_json() -> Text:
    return Text('{"equipment_type": "VFD", "confidence": 0.9,')


def schema_invalid() -> Text:
    return Text(json.dumps({"equipment_type": "", "condition": "broken", "confidence": 7}))


def rate_limited(retry_after: str | None = "7") -> Fail:
    return Fail(429, "rate limit exceeded", retry_after=retry_after)


def server_error(status: int = 500) -> Fail:
    return Fail(status, "scripted server error")


def unauthorized() -> Fail:
    return Fail(401, "invalid api key")


def hang(seconds: float = 1.5) -> Text:
    """A good answer that arrives after ``seconds`` (longer than the client's timeout in tests)."""
    return Text(analysis_json(), delay=seconds)


def tier_request(images: int = 1, max_output_tokens: int = 800) -> TierRequest:
    """A real (tiny PNG) request with the production prompt and schema."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, format="PNG")
    image = PreparedImage(data=buffer.getvalue(), mime_type="image/png", width=64, height=48)
    return TierRequest(
        images=[image] * images,
        prompt=build_prompt("drive tripped", images),
        json_schema=ANALYSIS_SCHEMA,
        max_output_tokens=max_output_tokens,
    )


# -- wire rendering, one function pair per provider ----------------------------------------------------------
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}  # fmt: skip
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"}  # fmt: skip
_ids = itertools.count(1)


def _ollama_ok(t: Text, model: str) -> dict[str, Any]:
    return {
        "model": t.model or model, "created_at": "2026-11-22T00:00:00Z",
        "message": {"role": "assistant", "content": t.text}, "done": True, "done_reason": "stop",
        "total_duration": 2_000_000_000, "load_duration": 1_000_000, "prompt_eval_count": t.input_tokens,
        "prompt_eval_duration": 500_000_000, "eval_count": t.output_tokens, "eval_duration": 1_400_000_000,
    }  # fmt: skip


def _gemini_ok(t: Text, model: str, image: bool = True) -> dict[str, Any]:
    details = ([{"modality": "TEXT", "tokenCount": t.input_tokens - 258}, {"modality": "IMAGE", "tokenCount": 258}]
               if image else [{"modality": "TEXT", "tokenCount": t.input_tokens}])  # fmt: skip
    usage = {"promptTokenCount": t.input_tokens, "candidatesTokenCount": t.output_tokens,
             "totalTokenCount": t.input_tokens + t.output_tokens + t.reasoning_tokens,
             "promptTokensDetails": details}  # fmt: skip
    if t.reasoning_tokens:
        usage["thoughtsTokenCount"] = t.reasoning_tokens
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": t.text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage, "modelVersion": t.model or model, "responseId": f"resp-{next(_ids)}",
    }  # fmt: skip


def _openai_ok(t: Text, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{next(_ids)}", "object": "chat.completion", "created": 1_763_769_600,
        "model": t.model or model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": t.text}}],
        "usage": {"prompt_tokens": t.input_tokens, "completion_tokens": t.output_tokens,
                  "total_tokens": t.input_tokens + t.output_tokens,
                  "prompt_tokens_details": {"cached_tokens": t.cached_input_tokens},
                  "completion_tokens_details": {"reasoning_tokens": t.reasoning_tokens}},
    }  # fmt: skip


def _anthropic_ok(t: Text, model: str) -> dict[str, Any]:
    return {
        "id": f"msg_{next(_ids)}", "type": "message", "role": "assistant", "model": t.model or model,
        "content": [{"type": "text", "text": t.text}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": t.input_tokens, "output_tokens": t.output_tokens,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": t.cached_input_tokens},
    }  # fmt: skip


def _error_body(provider: str, f: Fail) -> dict[str, Any]:
    if provider == "ollama":
        return {"error": f.message}
    if provider == "gemini":
        return {"error": {"code": f.status, "message": f.message, "status": _STATUS_NAMES.get(f.status, "UNKNOWN")}}
    if provider == "anthropic":
        kind = _ANTHROPIC_TYPES.get(f.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": f.message}}
    return {"error": {"message": f.message, "type": "scripted_error", "param": None, "code": str(f.status)}}


_RENDER_OK = {"ollama": _ollama_ok, "gemini": _gemini_ok, "xai": _openai_ok, "openai": _openai_ok,
              "anthropic": _anthropic_ok}  # fmt: skip


def _render(provider: str, scripted: Scripted, model: str, image: bool = True) -> Reply:
    if isinstance(scripted, Reply):
        return scripted
    if isinstance(scripted, Fail):
        headers = {"Retry-After": scripted.retry_after} if scripted.retry_after is not None else {}
        return Reply(scripted.status, json=_error_body(provider, scripted), headers=headers, delay=scripted.delay)
    body = _gemini_ok(scripted, model, image) if provider == "gemini" else _RENDER_OK[provider](scripted, model)
    return Reply(200, json=body, delay=scripted.delay, hold=scripted.hold)


def _key_ok(provider: str, headers: dict[str, str]) -> bool:
    if provider == "ollama":
        return True
    if provider == "gemini":
        return headers.get("x-goog-api-key") == FAKE_KEYS["gemini"]
    bearer = headers.get("authorization", "").removeprefix("Bearer ")
    if provider == "anthropic":  # anthropic 1.x sends x-api-key, 2.x Authorization: Bearer
        return FAKE_KEYS["anthropic"] in (headers.get("x-api-key"), bearer)
    return bearer == FAKE_KEYS[provider]


# -- the server -------------------------------------------------------------------------------------------------
class FakeProviders:
    """All five providers on one loopback server; see the module docstring."""

    def __init__(self) -> None:
        self.server = FakeServer()
        self.ollama_models: list[str] = [DEFAULT_OLLAMA_MODEL]
        self.catalogue: dict[str, list[str]] = {p: list(models) for p, models in CATALOGUES.items()}
        self._queues: dict[str, collections.deque[Scripted]] = {p: collections.deque() for p in PROVIDERS}
        self._defaults: dict[str, Scripted] = {p: good() for p in PROVIDERS}
        self._lock = threading.Lock()
        self._register()

    # -- scripting and inspection ------------------------------------------------------------------------
    def script(self, provider: str, *replies: Scripted) -> None:
        """Queue outcomes for the next generation calls to ``provider`` (tier or provider name)."""
        with self._lock:
            self._queues[self._key(provider)].extend(replies)

    def set_default(self, provider: str, reply: Scripted) -> None:
        with self._lock:
            self._defaults[self._key(provider)] = reply

    def unscript(self, provider: str) -> None:
        """Forget the outcomes still queued for ``provider``."""
        with self._lock:
            self._queues[self._key(provider)].clear()

    def calls(self, provider: str, *, generation_only: bool = True) -> list[Recorded]:
        """Requests ``provider`` received, oldest first; by default only generation calls (not probes)."""
        prefix = PREFIXES[self._key(provider)]
        found = self.server.calls_to("^" + re.escape(prefix) + "/")
        return [c for c in found if c.method == "POST"] if generation_only else found

    def url(self, provider: str) -> str:
        return self.server.base_url + PREFIXES[self._key(provider)]

    def settings_overrides(self) -> dict[str, Any]:
        """PipelineSettings field values pointing every tier at this server, with the keys it accepts."""
        return {
            "ollama_host": self.url("ollama"),
            "gemini_base_url": self.url("gemini"),
            "gemini_api_key": FAKE_KEYS["gemini"],
            "xai_base_url": self.url("xai"),
            "xai_api_key": FAKE_KEYS["xai"],
            "openai_base_url": self.url("openai"),
            "openai_api_key": FAKE_KEYS["openai"],
            "anthropic_base_url": self.url("anthropic"),
            "anthropic_api_key": FAKE_KEYS["anthropic"],
        }

    def settings(self, **extra: Any) -> PipelineSettings:
        """Settings built from ``settings_overrides()`` plus ``extra``, ignoring any .env file."""
        values = {**self.settings_overrides(), **extra}
        return PipelineSettings(_env_file=None, **values)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> FakeProviders:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------------------------------
    @staticmethod
    def _key(provider: str) -> str:
        key = _ALIASES.get(provider, provider)
        if key not in PREFIXES:
            raise KeyError(f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}")
        return key

    def _next(self, provider: str, image: bool = True) -> Scripted:
        with self._lock:
            queue = self._queues[provider]
            if queue:
                return queue.popleft()
            return self._defaults[provider] if image else answered()

    def _generate(self, provider: str, request: Recorded, model: str) -> Reply:
        if not _key_ok(provider, request.headers):
            return _render(provider, Fail(401, "fake: wrong or missing API key"), model)
        if provider in self.catalogue and self._resolve(provider, model) is None:
            return self._not_found(provider, model)
        image = has_image(provider, request.json())
        scripted = self._next(provider, image)
        if isinstance(scripted, Held):
            scripted.arrived.set()
            scripted.release.wait(timeout=300)  # a test that forgot to release must not hang the server for ever
            scripted = scripted.then
        return _render(provider, scripted, model, image)

    def _resolve(self, provider: str, model: str) -> str | None:
        """The catalogue id ``model`` names: itself, or for Anthropic the dated id behind an alias."""
        with self._lock:
            listed = list(self.catalogue.get(provider, []))
        if model in listed:
            return model
        dated = [m for m in listed if re.fullmatch(re.escape(model) + r"-\d{8}", m)] if provider == "anthropic" else []
        return dated[-1] if dated else None

    def _not_found(self, provider: str, model: str) -> Reply:
        return _render(provider, Fail(404, _NOT_FOUND[provider].format(model=model)), model)

    def _listing(self, provider: str, request: Recorded) -> Reply:
        if not _key_ok(provider, request.headers):
            return _render(provider, unauthorized(), "")
        with self._lock:
            ids = list(self.catalogue[provider])
        created = "2026-10-07T00:00:00Z"
        if provider == "gemini":
            models = [{"name": f"models/{m}", "displayName": m, "version": "001",
                       "supportedGenerationMethods": ["generateContent", "countTokens"]} for m in ids]  # fmt: skip
            return Reply(json={"models": models})
        if provider == "anthropic":
            data = [{"id": m, "type": "model", "display_name": m, "created_at": created} for m in ids]
            first, last = (ids[0], ids[-1]) if ids else (None, None)
            return Reply(json={"data": data, "has_more": False, "first_id": first, "last_id": last})
        data = [{"id": m, "object": "model", "created": 1_790_000_000, "owned_by": provider} for m in ids]
        return Reply(json={"object": "list", "data": data})

    def _register(self) -> None:
        route = self.server.route

        @route("POST", r"/ollama/api/chat")
        def ollama_chat(req: Recorded, m: re.Match[str]) -> Reply:
            return self._generate("ollama", req, req.json().get("model", ""))

        @route("GET", r"/ollama/api/tags")
        def ollama_tags(req: Recorded, m: re.Match[str]) -> Reply:
            models = [{"name": n, "model": n, "modified_at": "2026-11-01T00:00:00Z", "size": 3_200_000_000,
                       "digest": "0" * 64} for n in self.ollama_models]  # fmt: skip
            return Reply(json={"models": models})

        @route("POST", r"/gemini/(?:v1beta|v1)/models/(?P<model>[^/:]+):generateContent")
        def gemini_generate(req: Recorded, m: re.Match[str]) -> Reply:
            return self._generate("gemini", req, m["model"])

        @route("GET", r"/gemini/(?:v1beta|v1)/models/(?P<model>[^/:]+)")
        def gemini_model(req: Recorded, m: re.Match[str]) -> Reply:
            if not _key_ok("gemini", req.headers):
                return _render("gemini", unauthorized(), m["model"])
            if self._resolve("gemini", m["model"]) is None:
                return self._not_found("gemini", m["model"])
            return Reply(json={"name": f"models/{m['model']}", "displayName": m["model"], "version": "001"})

        @route("GET", r"/gemini/(?:v1beta|v1)/models")
        def gemini_models(req: Recorded, m: re.Match[str]) -> Reply:
            return self._listing("gemini", req)

        for provider in ("xai", "openai"):
            self._register_openai(provider)

        @route("POST", r"/anthropic/v1/messages")
        def anthropic_messages(req: Recorded, m: re.Match[str]) -> Reply:
            return self._generate("anthropic", req, req.json().get("model", ""))

        @route("GET", r"/anthropic/v1/models/(?P<model>[^/]+)")
        def anthropic_model(req: Recorded, m: re.Match[str]) -> Reply:
            if not _key_ok("anthropic", req.headers):
                return _render("anthropic", unauthorized(), m["model"])
            if (resolved := self._resolve("anthropic", m["model"])) is None:
                return self._not_found("anthropic", m["model"])
            return Reply(json={"id": resolved, "type": "model", "display_name": resolved,
                               "created_at": "2025-10-01T00:00:00Z"})  # fmt: skip

        @route("GET", r"/anthropic/v1/models")
        def anthropic_models(req: Recorded, m: re.Match[str]) -> Reply:
            return self._listing("anthropic", req)

    def _register_openai(self, provider: str) -> None:
        prefix = re.escape(PREFIXES[provider])

        @self.server.route("POST", prefix + r"/chat/completions")
        def chat(req: Recorded, m: re.Match[str]) -> Reply:
            return self._generate(provider, req, req.json().get("model", ""))

        @self.server.route("GET", prefix + r"/models/(?P<model>[^/]+)")
        def model(req: Recorded, m: re.Match[str]) -> Reply:
            if not _key_ok(provider, req.headers):
                return _render(provider, unauthorized(), m["model"])
            if self._resolve(provider, m["model"]) is None:
                return self._not_found(provider, m["model"])
            return Reply(json={"id": m["model"], "object": "model", "created": int(time.time()), "owned_by": "fake"})

        @self.server.route("GET", prefix + r"/models")
        def models(req: Recorded, m: re.Match[str]) -> Reply:
            return self._listing(provider, req)


@contextlib.asynccontextmanager
async def open_tier(fake: FakeProviders, name: str, **settings: Any) -> AsyncIterator[Tier]:
    """One real tier (built by ``build_tiers``) pointed at ``fake``, closed on exit."""
    tiers = build_tiers(fake.settings(**settings), [name])
    tier = tiers[name]
    try:
        yield tier
    finally:
        await tier.aclose()
