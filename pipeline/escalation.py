"""When to accept a tier's answer and when to ask the next tier: pure functions, table-tested.

The main signal is evidence from the plate (``pipeline.plate.evidence``): what a model claims is checked
against what the local reader read on the photo. A confirmed serial, model or maker raises the score; a
contradiction lowers it and makes ``decide`` escalate even a confident answer (a model that misreads a serial
with confidence is exactly what must not be filed); a near miss costs a little; absence costs nothing, because
OCR misses about a third of true values. Without plate text (a panel, a display, the reader off) the score is
the model's own ``confidence`` minus what a work order needs but the answer lacks or contradicts: a
manufacturer without a model, an empty summary, an answer that read nothing at all, a fault condition with no
code or description. ``decide`` compares the score with the tier's threshold from ``CASCADE``; errors of any
kind escalate; running out of tiers or time stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.plate.evidence import NO_EVIDENCE, Evidence
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


# What the plate says about a claimed field, added to the score (confirmed) or taken from it.
_CONFIRMED_BONUS: dict[str, float] = {"serial_number": 0.20, "model": 0.15, "manufacturer": 0.05, "fault_code": 0.05}
_CONTRADICTED = 0.35
_NEAR = 0.05


@dataclass(frozen=True)
class Score:
    value: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str


def score(analysis: Analysis, evidence: Evidence = NO_EVIDENCE) -> Score:
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
    bonus_taken: set[str] = set()
    for item in evidence.fields:
        if item.status == "confirmed" and item.field not in bonus_taken:
            bonus_taken.add(item.field)
            value += _CONFIRMED_BONUS[item.field]
            reasons.append(f"plate_confirms_{item.field}")
        elif item.status == "contradicted":
            value -= _CONTRADICTED
            reasons.append(f"plate_contradicts_{item.field}")
        elif item.status == "near":
            value -= _NEAR
            reasons.append(f"plate_near_{item.field}")
    return Score(value=round(min(1.0, max(0.0, value)), 4), reasons=tuple(reasons))


def decide(
    *,
    outcome: Literal["valid", "error"],
    score: float | None,
    threshold: float | None,
    tiers_left: int,
    seconds_left: float,
    contradicted: bool = False,
) -> Verdict:
    """Accept, escalate to the next tier, or stop and return the best answer so far.

    ``threshold`` None means the tier is the last in the cascade: any valid answer is accepted.
    ``contradicted``: the plate prints something else for a field the answer claims; such an answer is never
    accepted while another tier can be asked, whatever its score.
    """
    if outcome == "valid":
        assert score is not None
        if contradicted and tiers_left > 0 and seconds_left > 1.0:
            return Verdict("escalate", "the plate contradicts the answer")
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
