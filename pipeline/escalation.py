"""When to accept a tier's answer and when to ask the next tier: pure functions, table-tested.

The model's own ``confidence`` is not trusted alone. ``score`` starts from it and subtracts for what a work
order needs but the answer lacks or contradicts: a manufacturer without a model, an empty summary, an answer
that read nothing at all off the photo, a fault condition with no code or description. ``decide`` compares the
score with the tier's threshold from ``CASCADE``; errors of any kind escalate; running out of tiers or time
stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.types import Analysis

Action = Literal["accept", "escalate", "stop"]

# Below this an answer is shown as "low confidence" even when the last tier accepted it.
LOW_CONFIDENCE = 0.5
DEFAULT_THRESHOLD = 0.75

_PENALTIES: dict[str, float] = {
    "read_nothing": 0.30,
    "empty_summary": 0.20,
    "unknown_equipment": 0.20,
    "manufacturer_without_model": 0.15,
    "model_without_manufacturer": 0.10,
    "fault_without_code_or_summary": 0.15,
    "urgent_but_normal": 0.10,
}


@dataclass(frozen=True)
class Score:
    value: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str


def score(analysis: Analysis) -> Score:
    reasons: list[str] = []
    read_anything = any(
        (analysis.manufacturer, analysis.model, analysis.serial_number, analysis.ratings, analysis.fault_codes)
    )
    if not read_anything:
        reasons.append("read_nothing")
    if not analysis.summary.strip():
        reasons.append("empty_summary")
    if analysis.equipment_type.strip().lower() in {"unknown", "n/a", "none", "?"}:
        reasons.append("unknown_equipment")
    if analysis.manufacturer and not analysis.model:
        reasons.append("manufacturer_without_model")
    if analysis.model and not analysis.manufacturer:
        reasons.append("model_without_manufacturer")
    if analysis.condition == "fault" and not analysis.fault_codes and len(analysis.summary.strip()) < 20:
        reasons.append("fault_without_code_or_summary")
    if analysis.priority == "urgent" and analysis.condition == "normal":
        reasons.append("urgent_but_normal")
    value = analysis.confidence - sum(_PENALTIES[r] for r in reasons)
    return Score(value=round(min(1.0, max(0.0, value)), 4), reasons=tuple(reasons))


def decide(
    *,
    outcome: Literal["valid", "error"],
    score: float | None,
    threshold: float | None,
    tiers_left: int,
    seconds_left: float,
) -> Verdict:
    """Accept, escalate to the next tier, or stop and return the best answer so far.

    ``threshold`` None means the tier is the last in the cascade: any valid answer is accepted.
    """
    if outcome == "valid":
        assert score is not None
        if threshold is None or score >= threshold:
            return Verdict("accept", "score meets threshold" if threshold is not None else "last tier")
        reason = f"score {score:.2f} below {threshold:.2f}"
    else:
        reason = "tier failed"
    if tiers_left <= 0:
        return Verdict("stop", f"{reason}; no tier left")
    if seconds_left <= 1.0:
        return Verdict("stop", f"{reason}; request time budget spent")
    return Verdict("escalate", reason)


@dataclass(frozen=True)
class CascadeStep:
    tier: str
    threshold: float | None


def parse_cascade(spec: str, *, known: frozenset[str]) -> list[CascadeStep]:
    """Parse ``CASCADE`` ("ollama:0.80,gemini:0.70,grok:0.80,claude").

    Every tier but the last gets a threshold (``DEFAULT_THRESHOLD`` when omitted); the last accepts any valid
    answer unless it names a threshold itself.
    """
    steps: list[CascadeStep] = []
    seen: set[str] = set()
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if not items:
        raise ValueError("CASCADE is empty: name at least one tier, e.g. 'gemini:0.70,claude'")
    for index, item in enumerate(items):
        name, _, raw = item.partition(":")
        name = name.strip().lower()
        if name not in known:
            raise ValueError(f"CASCADE names unknown tier {name!r}; known tiers: {', '.join(sorted(known))}")
        if name in seen:
            raise ValueError(f"CASCADE names tier {name!r} twice")
        seen.add(name)
        threshold: float | None
        if raw.strip():
            try:
                threshold = float(raw)
            except ValueError:
                raise ValueError(f"CASCADE threshold for {name!r} is not a number: {raw!r}") from None
            if not 0.0 <= threshold <= 1.0:
                raise ValueError(f"CASCADE threshold for {name!r} must be between 0 and 1, got {threshold}")
        else:
            threshold = None if index == len(items) - 1 else DEFAULT_THRESHOLD
        steps.append(CascadeStep(name, threshold))
    return steps
