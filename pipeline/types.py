"""Values that cross the pipeline's boundary: the analysis schema, tier requests and replies, receipts.

A tier does transport only: it turns a ``TierRequest`` into a ``TierReply`` (the model's raw text plus the
usage the provider reported) or raises a ``TierError``. Parsing the text into an ``Analysis`` is shared
(``pipeline.analysis.parse_analysis``) so every provider is judged by the same rules, and so a reply that
cost money but did not parse is still recorded in the ledger with its real usage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from pipeline.plate.evidence import Evidence
    from pipeline.plate.register import KnownUnit
    from pipeline.plate.types import PlateReading

Condition = Literal["normal", "warning", "fault", "unknown"]
Priority = Literal["low", "medium", "high", "urgent"]


class Analysis(BaseModel):
    """What every tier is asked for (schema in DESIGN.md). Unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    equipment_type: str = Field(min_length=1, max_length=80)
    manufacturer: str | None = Field(default=None, max_length=120)
    model: str | None = Field(default=None, max_length=120)
    serial_number: str | None = Field(default=None, max_length=120)
    ratings: dict[str, str] = Field(default_factory=dict)
    fault_codes: list[str] = Field(default_factory=list)
    condition: Condition = "unknown"
    summary: str = Field(default="", max_length=2000)
    recommended_actions: list[str] = Field(default_factory=list)
    safety_notes: list[str] = Field(default_factory=list)
    priority: Priority = "medium"
    confidence: float = Field(ge=0.0, le=1.0)
    # The direct answer to the technician's question (the caption), in their language; None when none was asked.
    answer: str | None = Field(default=None, max_length=2000)

    @field_validator("manufacturer", "model", "serial_number", "answer", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in {"", "null", "none", "unknown", "n/a", "-"}:
            return None
        return value

    @field_validator("ratings", mode="before")
    @classmethod
    def _ratings_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items() if v is not None}
        return value


@dataclass(frozen=True)
class ImagePolicy:
    """How a provider wants its image: the largest size before it starts charging more, and the encoding."""

    max_long_side: int
    max_pixels: int
    quality: int = 85


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class TierRequest:
    images: list[PreparedImage]
    prompt: str
    json_schema: dict[str, Any]
    max_output_tokens: int = 800


@dataclass(frozen=True)
class Usage:
    """Tokens exactly as the provider reported them (no estimate)."""

    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class TierReply:
    text: str
    usage: Usage
    model_reported: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class Tier(Protocol):
    """One provider/model. Capabilities are attributes; ``analyze`` is the one I/O method."""

    name: str  # name in CASCADE: "ollama", "gemini", "grok", "claude", "openai"
    provider: str  # "ollama", "google", "xai", "anthropic", "openai"
    model: str
    is_local: bool  # costs nothing, needs no budget
    image_policy: ImagePolicy

    async def analyze(self, request: TierRequest) -> TierReply: ...

    async def probe(self) -> str:
        """Cheap reachability check for ``doctor``; returns a short description or raises TierError."""
        ...

    async def list_models(self) -> list[str]:
        """Model ids this key (or this Ollama server) can use, from the provider's models-list call."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Attempt:
    """One tier attempt, as the ledger records it."""

    tier: str
    provider: str
    model: str
    outcome: str  # "accepted", "escalated", "unavailable", "rate_limited", "auth_error", "rejected",
    # "bad_output", "skipped_budget", "skipped_cooldown", "skipped_busy" (every fleet-wide call slot taken)
    latency_ms: int = 0
    usage: Usage = Usage()
    cost_micro_usd: int = 0
    model_reported: str | None = None
    confidence: float | None = None
    score: float | None = None
    error: str | None = None
    # What the tier answered and why it was judged so: kept for every tier, not only the accepted one, so
    # accuracy by tier can be measured (bot/quality) and the evaluation set replayed (``plc-copilot eval``).
    analysis: Analysis | None = None
    reasons: tuple[str, ...] = ()
    # field → "confirmed" | "near" | "contradicted" | "absent", from the plate reader when it ran
    evidence: dict[str, str] | None = None


@dataclass(frozen=True)
class Receipt:
    """How an answer was reached. ``source``: "cache" (a photo seen before), "model" (a tier answered),
    "plate" (no tier could answer; only what the plate reader read, at $0), "register" (a re-shot of a unit
    already registered, answered from its last analysis at $0)."""

    request_id: str
    source: Literal["cache", "model", "plate", "register"]
    tier: str | None  # tier that answered; None for a cache hit
    model: str | None
    confidence: float
    cost_micro_usd: int
    duration_ms: int
    attempts: list[Attempt]
    low_confidence: bool = False
    cache_match: Literal["exact", "near"] | None = None
    cached_at: datetime | None = None
    budget_limited: bool = False
    evidence: Evidence | None = None  # the plate's verdict on each claimed identifier (None: not checked)
    plate: tuple[PlateReading, ...] = ()  # what the reader read on each photo
    known_unit: KnownUnit | None = None  # the registered unit this photo shows


@dataclass(frozen=True)
class Result:
    analysis: Analysis
    receipt: Receipt
    analysis_id: int | None = None


@dataclass(frozen=True)
class Progress:
    """Where the pipeline is, for the bot's status message."""

    stage: Literal["cache", "plate", "tier", "done"]
    tier: str | None = None
    is_local: bool = False


ProgressCallback = Callable[[Progress], Awaitable[None]]


class SpendingGuard(Protocol):
    """The caller's budget. Asked before each cloud call; settled after it with the reported cost."""

    async def reserve(self, *, user_id: int | None, provider: str, estimate_micro_usd: int) -> object | None:
        """Return a reservation token, or None when the call must not be made."""
        ...

    async def settle(self, reservation: object, actual_micro_usd: int) -> None: ...
