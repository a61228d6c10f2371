"""The cascade: ask tiers in ``CASCADE`` order until one's answer is good enough.

For each step: skip it when its breaker is open (a sleeping laptop, a rate limit, a broken key), when it is a
cloud tier with no price (never a silent $0) or when the caller's spending guard refuses the estimate; else
prepare the photos for that provider's pricing, call it within what is left of the request's time budget,
record the attempt, and let ``decide`` accept, escalate or stop. Every outcome becomes an ``Attempt`` for the
ledger. When no tier accepts, the best valid answer is returned as low confidence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from PIL import Image

from pipeline.analysis import ANALYSIS_SCHEMA, BadAnalysis, parse_analysis
from pipeline.breaker import Breaker
from pipeline.costs import PriceTable, cost_micro_usd, estimate_micro_usd
from pipeline.errors import TierBadOutput, TierError, TierUnavailable
from pipeline.escalation import LOW_CONFIDENCE, CascadeStep, decide, score
from pipeline.imagetokens import estimate_image_tokens
from pipeline.plate.evidence import NO_EVIDENCE, Evidence, check
from pipeline.plate.types import PlateReading
from pipeline.prepare import prepare
from pipeline.shared import LOCAL, BreakerStore, TierSlots
from pipeline.types import (
    Analysis,
    Attempt,
    ImagePolicy,
    PreparedImage,
    Progress,
    ProgressCallback,
    SpendingGuard,
    Tier,
    TierReply,
    TierRequest,
    Usage,
)

log = logging.getLogger(__name__)

MAX_OUTPUT_TOKENS = 800


@dataclass(frozen=True)
class PipelineEvent:
    """Something an admin should hear about once (the bot dedupes and reports)."""

    kind: Literal["key_rejected", "model_missing", "price_missing"]
    tier: str
    detail: str


EventCallback = Callable[[PipelineEvent], Awaitable[None]]


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
    def __init__(
        self,
        tiers: dict[str, Tier],
        steps: Sequence[CascadeStep],
        prices: PriceTable,
        *,
        cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = date.today,
        on_event: EventCallback | None = None,
        breakers: BreakerStore = LOCAL,
        slots: TierSlots = LOCAL,
    ) -> None:
        # Unconfigured tiers are skipped; the last configured step keeps its own threshold (DESIGN: CASCADE).
        self.steps = [s for s in steps if s.tier in tiers]
        self.tiers = tiers
        self.prices = prices
        self.breakers = {name: Breaker(cooldown=cooldown_s) for name in tiers}
        self.shared_breakers, self.slots = breakers, slots  # other processes' openings and calls (shared.py)
        self._clock = clock
        self._today = today
        self._on_event = on_event

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
        for index, step in enumerate(self.steps):
            tier = self.tiers[step.tier]
            threshold = step.threshold
            tiers_left = len(self.steps) - index - 1
            breaker = self.breakers[step.tier]
            now = self._clock()
            if breaker.is_open(now):
                outcome.attempts.append(
                    _skipped(tier, "skipped_cooldown", f"cooling down {breaker.seconds_left(now):.0f}s")
                )
                continue
            if (shared_left := await self.shared_breakers.seconds_left(step.tier)) > 0:
                outcome.attempts.append(_skipped(tier, "skipped_cooldown", f"cooling down {shared_left:.0f}s"))
                continue
            if deadline - now <= 1.0:
                outcome.attempts.append(_skipped(tier, "skipped_deadline", "request time budget spent"))
                break
            if tier.image_policy not in prepared:
                prepared[tier.image_policy] = await asyncio.to_thread(_prepare_all, images, tier.image_policy)
            request = TierRequest(prepared[tier.image_policy], prompt, ANALYSIS_SCHEMA, MAX_OUTPUT_TOKENS)

            reservation: object | None = None
            price = None if tier.is_local else self.prices.lookup(tier.model, self._today(), tier.provider)
            if not tier.is_local:
                if price is None:
                    outcome.attempts.append(_skipped(tier, "skipped_no_price", f"no price for {tier.model}"))
                    await self._emit(PipelineEvent("price_missing", tier.name, tier.model))
                    continue
                estimate = estimate_micro_usd(
                    price, input_tokens=_estimate_input_tokens(tier, request), max_output_tokens=MAX_OUTPUT_TOKENS
                )
                if guard is not None:
                    reservation = await guard.reserve(
                        user_id=user_id, provider=tier.provider, estimate_micro_usd=estimate
                    )
                    if reservation is None:
                        outcome.budget_refused = True
                        outcome.attempts.append(_skipped(tier, "skipped_budget", f"budget refused ~{estimate} µUSD"))
                        continue

            release = await self.slots.acquire(step.tier, deadline - self._clock() - 1.0)
            if release is None:
                if reservation is not None and guard is not None:
                    await guard.settle(reservation, 0)
                outcome.attempts.append(_skipped(tier, "skipped_busy", "every call slot of the tier is taken"))
                continue
            await notify(progress, Progress(stage="tier", tier=tier.name, is_local=tier.is_local))
            started = self._clock()
            reply: TierReply | None = None
            error: TierError | None = None
            cost = 0
            try:
                async with asyncio.timeout(max(0.1, deadline - started)):
                    reply = await tier.analyze(request)
            except TierError as exc:
                error = exc
            except TimeoutError:
                error = TierUnavailable(tier.name, "request time budget spent")
            finally:
                await release()
                # A reply that was unusable (empty, refused) was still billed: its usage is on the error.
                billed = reply.usage if reply is not None else (error.usage if error is not None else None)
                if billed is not None and price is not None:
                    cost = cost_micro_usd(price, billed)
                if reservation is not None and guard is not None:
                    await guard.settle(reservation, cost)
            latency = int((self._clock() - started) * 1000)

            analysis: Analysis | None = None
            if reply is not None:
                try:
                    analysis = parse_analysis(reply.text)
                except BadAnalysis as exc:
                    error = TierBadOutput(tier.name, str(exc))
            if error is not None:
                known = breaker.admin_problem
                breaker.record_failure(error, self._clock())
                if breaker.is_open(self._clock()):
                    await self.shared_breakers.open(
                        step.tier, breaker.seconds_left(self._clock()), breaker.admin_problem
                    )
                if breaker.admin_problem is not None and breaker.admin_problem != known:  # once per problem
                    await self._emit(PipelineEvent(breaker.admin_problem, tier.name, error.message))
                log.info("tier %s failed: %s (%d ms)", tier.name, error.outcome, latency)
                outcome.attempts.append(
                    _attempt(tier, error.outcome, latency, reply, cost, error=error.message, billed=error.usage)
                )
                verdict = decide(
                    outcome="error",
                    score=None,
                    threshold=threshold,
                    tiers_left=tiers_left,
                    seconds_left=deadline - self._clock(),
                )
                if verdict.action == "stop":
                    break
                continue

            assert analysis is not None and reply is not None
            breaker.record_success()
            evidence = judge(analysis, readings)
            judged = score(analysis, evidence)
            verdict = decide(
                outcome="valid",
                score=judged.value,
                threshold=threshold,
                tiers_left=tiers_left,
                seconds_left=deadline - self._clock(),
                contradicted=evidence.contradicted,
            )
            label = "accepted" if verdict.action == "accept" else "escalated"
            log.info(
                "tier %s answered: confidence %.2f score %.2f (%s) → %s",
                tier.name, analysis.confidence, judged.value, ", ".join(judged.reasons) or "-", label,
            )  # fmt: skip
            outcome.attempts.append(
                _attempt(tier, label, latency, reply, cost, confidence=analysis.confidence, score=judged.value,
                         analysis=analysis, reasons=judged.reasons, evidence=evidence)
            )  # fmt: skip
            if outcome.analysis is None or judged.value > outcome.score or verdict.action == "accept":
                outcome.analysis, outcome.tier, outcome.score = analysis, tier.name, judged.value
                outcome.evidence = evidence
                outcome.model = reply.model_reported or tier.model
            if verdict.action == "accept":
                outcome.accepted = True
                break
            if verdict.action == "stop":
                break
        return outcome

    async def emit(self, event: PipelineEvent) -> None:
        """An admin event from outside the photo loop (the question path, pipeline/questions.py)."""
        await self._emit(event)

    async def _emit(self, event: PipelineEvent) -> None:
        if self._on_event is not None:
            try:
                await self._on_event(event)
            except Exception:
                log.exception("event callback failed for %s", event)


def judge(analysis: Analysis, readings: Sequence[PlateReading]) -> Evidence:
    """The plate's verdict on each identifier and fault code the answer claims."""
    claims = {"manufacturer": analysis.manufacturer, "model": analysis.model, "serial_number": analysis.serial_number}
    return check(claims, analysis.fault_codes, readings)


def _prepare_all(images: Sequence[Image.Image], policy: ImagePolicy) -> list[PreparedImage]:
    return [prepare(image, policy) for image in images]


def _estimate_input_tokens(tier: Tier, request: TierRequest) -> int:
    image_tokens = sum(estimate_image_tokens(tier.provider, tier.model, im.width, im.height) for im in request.images)
    text_tokens = (len(request.prompt) + len(str(request.json_schema))) // 3 + 50
    return image_tokens + text_tokens


async def notify(progress: ProgressCallback | None, event: Progress) -> None:
    if progress is None:
        return
    try:
        await progress(event)
    except Exception:  # a failed status edit must never fail the analysis
        log.warning("progress callback failed", exc_info=True)


def _skipped(tier: Tier, outcome: str, why: str) -> Attempt:
    return Attempt(tier=tier.name, provider=tier.provider, model=tier.model, outcome=outcome, error=why)


def _attempt(
    tier: Tier,
    outcome: str,
    latency_ms: int,
    reply: TierReply | None,
    cost: int,
    *,
    error: str | None = None,
    confidence: float | None = None,
    score: float | None = None,
    billed: Usage | None = None,
    analysis: Analysis | None = None,
    reasons: tuple[str, ...] = (),
    evidence: Evidence | None = None,
) -> Attempt:
    usage = reply.usage if reply is not None else (billed or Usage())
    return Attempt(
        tier=tier.name,
        provider=tier.provider,
        model=tier.model,
        outcome=outcome,
        latency_ms=latency_ms,
        usage=usage,
        cost_micro_usd=cost,
        model_reported=reply.model_reported if reply is not None else None,
        confidence=confidence,
        score=score,
        error=error,
        analysis=analysis,
        reasons=reasons,
        # the plate's verdict on each identifier this tier claimed (None: the reader saw no text)
        evidence={f.field: f.status for f in evidence.fields} if evidence is not None and evidence.read else None,
    )
