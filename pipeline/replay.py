"""What-if for ``CASCADE``: replay the evaluation set under candidate orders and thresholds (pure).

Each evaluated request holds what every tier answered for the same photos (score, analysis, cost, latency) or
that it failed. A candidate cascade is simulated with the production ``decide``: walk its steps, pay each
tier's recorded cost and latency, accept when the recorded score reaches the step's threshold, else escalate;
when no step accepts, the best-scoring answer is returned, as the live cascade does.

Accuracy is reported against three references, separately, because each answers a different question:
- *strongest*: agreement (``pipeline.agreement``) with the reference tier's answer on the same photos —
  available for every request, but only as good as that tier;
- *feedback*: technicians' verdict on the answer they were shown; a candidate's answer is judged when it agrees
  with the shown one (it inherits the verdict) or disagrees with one marked right (then it is wrong);
- *plate*: no field of the chosen answer contradicted by the plate reader, among answers with any evidence;
- *labels*: agreement with a human label, for a labelled folder (``--photos DIR --labels FILE``).

``search`` is FrugalGPT's idea on our data: enumerate orders (cheapest tier first) and thresholds, and
recommend the cheapest candidate whose accuracy is within ``max_loss`` of the best candidate's.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.agreement import disagreement
from pipeline.escalation import CascadeStep, decide
from pipeline.types import Analysis

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class TierOutcome:
    """One tier's recorded attempt at a request: ``analysis`` None means it failed (cost still counts)."""

    cost_micro_usd: int
    latency_ms: int
    score: float | None = None
    analysis: Analysis | None = None
    evidence: dict[str, str] | None = None


@dataclass(frozen=True)
class Verdict:
    """A technician's verdict on the answer they were shown for a request."""

    shown: Analysis
    right: bool


@dataclass(frozen=True)
class Case:
    """One request of the evaluation set."""

    request_id: str
    tiers: dict[str, TierOutcome]
    feedback: Verdict | None = None
    label: dict[str, Any] | None = None  # only the fields a person checked


@dataclass(frozen=True)
class Run:
    """One request under one candidate."""

    cost_micro_usd: int
    latency_ms: int
    asked: int
    answer: TierOutcome | None


def simulate(steps: Sequence[CascadeStep], case: Case) -> Run:
    """The candidate on one request. Tiers the request has no record of are skipped, like unconfigured ones."""
    present = [s for s in steps if s.tier in case.tiers]
    cost = latency = asked = 0
    best: TierOutcome | None = None
    for index, step in enumerate(present):
        outcome = case.tiers[step.tier]
        cost += outcome.cost_micro_usd
        latency += outcome.latency_ms
        asked += 1
        tiers_left = len(present) - index - 1
        if outcome.analysis is None or outcome.score is None:
            verdict = decide(outcome="error", score=None, threshold=step.threshold, tiers_left=tiers_left,
                             seconds_left=60.0)  # fmt: skip
        else:
            if best is None or best.score is None or outcome.score > best.score:
                best = outcome
            verdict = decide(outcome="valid", score=outcome.score, threshold=step.threshold, tiers_left=tiers_left,
                             seconds_left=60.0)  # fmt: skip
            if verdict.action == "accept":
                return Run(cost, latency, asked, outcome)
        if verdict.action == "stop":
            break
    return Run(cost, latency, asked, best)


@dataclass(frozen=True)
class Rate:
    hits: int
    judged: int

    @property
    def value(self) -> float | None:
        return self.hits / self.judged if self.judged else None


@dataclass
class Score:
    """A candidate over the whole set."""

    spec: str
    steps: list[CascadeStep]
    photos: int = 0
    cost_micro_usd: int = 0
    escalated: int = 0
    latencies: list[int] = field(default_factory=list)
    strongest: Rate = Rate(0, 0)
    feedback: Rate = Rate(0, 0)
    plate: Rate = Rate(0, 0)
    labels: Rate = Rate(0, 0)

    @property
    def cost_per_photo(self) -> float:
        return self.cost_micro_usd / self.photos if self.photos else 0.0

    @property
    def escalation_rate(self) -> float:
        return self.escalated / self.photos if self.photos else 0.0

    def latency(self, p: float) -> int | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[max(1, -(-int(p * len(ordered)) // 100)) - 1]


def spec_of(steps: Sequence[CascadeStep]) -> str:
    return ",".join(s.tier if s.threshold is None else f"{s.tier}:{s.threshold:.2f}" for s in steps)


def _agrees(answer: Analysis, reference: Analysis) -> bool:
    return not disagreement(reference, answer)


def _labelled(answer: Analysis, label: dict[str, Any]) -> bool:
    """A label names only what a person checked; the answer must match those fields (the others are taken
    from the answer itself, so they cannot differ)."""
    expected = Analysis.model_validate({**answer.model_dump(), **label})
    return not disagreement(expected, answer)


def evaluate(steps: Sequence[CascadeStep], cases: Iterable[Case], *, reference: str) -> Score:
    result = Score(spec_of(steps), list(steps))
    counts = {"strongest": [0, 0], "feedback": [0, 0], "plate": [0, 0], "labels": [0, 0]}
    for case in cases:
        run = simulate(steps, case)
        result.photos += 1
        result.cost_micro_usd += run.cost_micro_usd
        result.escalated += run.asked > 1
        result.latencies.append(run.latency_ms)
        answer = run.answer.analysis if run.answer is not None else None
        ref = case.tiers.get(reference)
        if ref is not None and ref.analysis is not None:
            counts["strongest"][1] += 1
            counts["strongest"][0] += answer is not None and _agrees(answer, ref.analysis)
        if case.feedback is not None and answer is not None:
            same = _agrees(answer, case.feedback.shown)
            if same or case.feedback.right:
                counts["feedback"][1] += 1
                counts["feedback"][0] += same and case.feedback.right
        evidence = run.answer.evidence if run.answer is not None else None
        if evidence and any(v in ("confirmed", "contradicted") for v in evidence.values()):
            counts["plate"][1] += 1
            counts["plate"][0] += "contradicted" not in evidence.values()
        if case.label is not None:
            counts["labels"][1] += 1
            counts["labels"][0] += answer is not None and _labelled(answer, case.label)
    result.strongest, result.feedback, result.plate, result.labels = (
        Rate(*counts[k]) for k in ("strongest", "feedback", "plate", "labels")
    )
    return result


def candidates(tiers_by_cost: Sequence[str], *, max_steps: int = 3) -> list[list[CascadeStep]]:
    """Every cheapest-first order of up to ``max_steps`` tiers, with every threshold on each non-last step."""
    found: list[list[CascadeStep]] = []
    for size in range(1, min(max_steps, len(tiers_by_cost)) + 1):
        for combo in itertools.combinations(tiers_by_cost, size):
            for thresholds in itertools.product(THRESHOLDS, repeat=size - 1):
                found.append([CascadeStep(t, th) for t, th in zip(combo, thresholds, strict=False)]
                             + [CascadeStep(combo[-1], None)])  # fmt: skip
    return found


def accuracy(score: Score, basis: str) -> float | None:
    rate: Rate = getattr(score, basis)
    return rate.value


def recommend(scores: Sequence[Score], *, max_loss: float, basis: str = "strongest") -> Score | None:
    """The cheapest candidate within ``max_loss`` (absolute, e.g. 0.02) of the most accurate on ``basis``;
    ties go to the lower p95 latency. None when no candidate could be judged on ``basis``."""
    judged = [s for s in scores if accuracy(s, basis) is not None]
    if not judged:
        return None
    best = max(accuracy(s, basis) or 0.0 for s in judged)
    within = [s for s in judged if (accuracy(s, basis) or 0.0) >= best - max_loss - 1e-9]
    return min(within, key=lambda s: (s.cost_per_photo, s.latency(95) or 0, len(s.steps)))
