"""The cascade: ask tiers in ``CASCADE`` order until one's answer is good enough.

Each step is one call through ``TierCaller`` (``tiercall.py``: breakers, prices, the spending guard, call
slots, the time budget, billing), with the photos prepared once for each provider's pricing. A parsed answer
is weighed with the plate's evidence and ``decide`` accepts it, escalates or stops; a failed call lets
``decide`` escalate or stop. Every outcome becomes an ``Attempt`` for the ledger. When no tier accepts, the
best valid answer is returned as low confidence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from PIL import Image

from pipeline.analysis import ANALYSIS_SCHEMA, parse_analysis
from pipeline.breaker import Breaker
from pipeline.costs import PriceTable
from pipeline.escalation import LOW_CONFIDENCE, CascadeStep, decide, score
from pipeline.plate.evidence import NO_EVIDENCE, Evidence, check
from pipeline.plate.types import PlateReading
from pipeline.prepare import prepare
from pipeline.tiercall import TierCaller
from pipeline.types import (
    Analysis,
    Attempt,
    ImagePolicy,
    PreparedImage,
    ProgressCallback,
    SpendingGuard,
    Tier,
    TierRequest,
)

log = logging.getLogger(__name__)

MAX_OUTPUT_TOKENS = 800


@dataclass
class CascadeOutcome:
    attempts: list[Attempt] = field(default_factory=list)
    analysis: Analysis | None = None
    tier: str | None = None
    model: str | None = None
    score: float = 0.0
    accepted: bool = False
    budget_refused: bool = False
    evidence: Evidence = NO_EVIDENCE  # the plate's verdict on the chosen answer

    @property
    def low_confidence(self) -> bool:
        return not self.accepted or self.score < LOW_CONFIDENCE


class Cascade:
    """An order over the tiers (``CASCADE``), asked through ``caller`` until one's answer is good enough."""

    def __init__(self, caller: TierCaller, steps: Sequence[CascadeStep]) -> None:
        # Unconfigured tiers are skipped; the last configured step keeps its own threshold (DESIGN: CASCADE).
        self.steps = [s for s in steps if s.tier in caller.tiers]
        self.caller = caller

    @property
    def prices(self) -> PriceTable:
        return self.caller.prices

    @property
    def breakers(self) -> dict[str, Breaker]:
        return self.caller.breakers

    async def run(
        self,
        images: Sequence[Image.Image],
        prompt: str,
        *,
        user_id: int | None,
        deadline: float,
        guard: SpendingGuard | None,
        progress: ProgressCallback | None,
        readings: Sequence[PlateReading] = (),
    ) -> CascadeOutcome:
        outcome = CascadeOutcome()
        prepared: dict[ImagePolicy, list[PreparedImage]] = {}

        async def request_for(tier: Tier) -> TierRequest:  # the photos prepared once per provider's pricing
            if tier.image_policy not in prepared:
                prepared[tier.image_policy] = await asyncio.to_thread(_prepare_all, images, tier.image_policy)
            return TierRequest(prepared[tier.image_policy], prompt, ANALYSIS_SCHEMA, MAX_OUTPUT_TOKENS)

        for index, step in enumerate(self.steps):
            tiers_left = len(self.steps) - index - 1
            call = await self.caller.call(
                step.tier, request_for, parse=parse_analysis, user_id=user_id, guard=guard, deadline=deadline,
                progress=progress,
            )  # fmt: skip
            analysis = call.value
            if analysis is None:
                outcome.attempts.append(call.attempt)
                outcome.budget_refused = outcome.budget_refused or call.budget_refused
                if call.out_of_time:
                    break
                if call.skipped:
                    continue
                verdict = decide(
                    outcome="error",
                    score=None,
                    threshold=step.threshold,
                    tiers_left=tiers_left,
                    seconds_left=deadline - self.caller.clock(),
                )
                if verdict.action == "stop":
                    break
                continue

            evidence = judge(analysis, readings)
            judged = score(analysis, evidence)
            verdict = decide(
                outcome="valid",
                score=judged.value,
                threshold=step.threshold,
                tiers_left=tiers_left,
                seconds_left=deadline - self.caller.clock(),
                contradicted=evidence.contradicted,
            )
            label = "accepted" if verdict.action == "accept" else "escalated"
            log.info(
                "tier %s answered: confidence %.2f score %.2f (%s) → %s",
                call.attempt.tier, analysis.confidence, judged.value, ", ".join(judged.reasons) or "-", label,
            )  # fmt: skip
            outcome.attempts.append(
                replace(
                    call.attempt, outcome=label, confidence=analysis.confidence, score=judged.value,
                    analysis=analysis, reasons=judged.reasons,
                    # the plate's verdict on each identifier this tier claimed (None: the reader saw no text)
                    evidence={f.field: f.status for f in evidence.fields} if evidence.read else None,
                )
            )  # fmt: skip
            if outcome.analysis is None or judged.value > outcome.score or verdict.action == "accept":
                outcome.analysis, outcome.tier, outcome.score = analysis, call.attempt.tier, judged.value
                outcome.evidence = evidence
                outcome.model = call.model
            if verdict.action == "accept":
                outcome.accepted = True
                break
            if verdict.action == "stop":
                break
        return outcome


def judge(analysis: Analysis, readings: Sequence[PlateReading]) -> Evidence:
    """The plate's verdict on each identifier and fault code the answer claims."""
    claims = {"manufacturer": analysis.manufacturer, "model": analysis.model, "serial_number": analysis.serial_number}
    return check(claims, analysis.fault_codes, readings)


def _prepare_all(images: Sequence[Image.Image], policy: ImagePolicy) -> list[PreparedImage]:
    return [prepare(image, policy) for image in images]
