"""One call to one tier, made the same way for a photo (``cascade.py``) and for words (``textpath.py``), so a
change to how a tier is called, billed or cooled down is made here once.

Before the call the tier is skipped, with an ``Attempt`` that says why, when its breaker is open (in this
process, or in another process of the fleet: ``shared.py``), when the request's time is spent, when it is a
cloud tier with no price (never a silent $0; the admins hear of it), when the caller's spending guard refuses
the estimate, or when every call slot of the tier is taken. Otherwise it is called within what is left of the
request's time; a ``TierError`` or the timeout becomes the attempt's outcome, and what the provider billed — an
unusable reply (empty, refused, unparsable) included — is priced from the usage it reported and settled with
the guard. A failure goes to the tier's breaker (opened for the fleet too; the admins hear once of a rejected
key or a missing model); a reply that ``parse`` accepts closes it. What the caller does with the parsed reply
(score it, accept it, escalate) is the caller's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from pipeline.analysis import BadAnalysis
from pipeline.breaker import Breaker
from pipeline.costs import PriceTable, cost_micro_usd, estimate_micro_usd
from pipeline.errors import TierBadOutput, TierError, TierUnavailable
from pipeline.events import EventCallback, PipelineEvent, emit, notify
from pipeline.imagetokens import estimate_image_tokens
from pipeline.shared import LOCAL, BreakerStore, TierSlots
from pipeline.types import (
    Attempt,
    Progress,
    ProgressCallback,
    SpendingGuard,
    Tier,
    TierReply,
    TierRequest,
    Usage,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

RequestFor = Callable[[Tier], Awaitable[TierRequest]]  # a request made for the tier once it is to be called


@dataclass(frozen=True)
class Call(Generic[T]):
    """What one ``TierCaller.call`` came to. ``attempt`` is as the ledger records it, outcome "answered" when
    ``value`` (the parsed reply) is there; the caller adds what it judged of the value."""

    attempt: Attempt
    value: T | None = None
    model: str | None = None  # the model that answered, as the provider reported it (else as configured)

    @property
    def skipped(self) -> bool:
        return self.attempt.outcome.startswith("skipped")

    @property
    def out_of_time(self) -> bool:
        """The request's time was spent before this tier: no later tier has any either."""
        return self.attempt.outcome == "skipped_deadline"

    @property
    def budget_refused(self) -> bool:
        return self.attempt.outcome == "skipped_budget"


class TierCaller:
    """The configured tiers with what every call to them goes through: prices, breakers, call slots."""

    def __init__(
        self,
        tiers: dict[str, Tier],
        prices: PriceTable,
        *,
        cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = date.today,
        on_event: EventCallback | None = None,
        breakers: BreakerStore = LOCAL,
        slots: TierSlots = LOCAL,
    ) -> None:
        self.tiers = tiers
        self.prices = prices
        self.breakers = {name: Breaker(cooldown=cooldown_s) for name in tiers}
        self.shared_breakers, self.slots = breakers, slots  # other processes' openings and calls (shared.py)
        self.clock = clock  # monotonic seconds, as the caller's deadlines
        self._today = today
        self._on_event = on_event

    async def call(
        self,
        name: str,
        request: TierRequest | RequestFor,
        *,
        parse: Callable[[str], T],
        user_id: int | None,
        guard: SpendingGuard | None,
        deadline: float,
        progress: ProgressCallback | None = None,
    ) -> Call[T]:
        """Ask tier ``name`` once (``parse`` raises ``BadAnalysis`` for a reply it cannot use); ``progress``
        hears when the call starts."""
        tier, breaker = self.tiers[name], self.breakers[name]
        now = self.clock()
        if breaker.is_open(now):
            return _skipped(tier, "skipped_cooldown", f"cooling down {breaker.seconds_left(now):.0f}s")
        if (shared_left := await self.shared_breakers.seconds_left(name)) > 0:
            return _skipped(tier, "skipped_cooldown", f"cooling down {shared_left:.0f}s")
        if deadline - now <= 1.0:
            return _skipped(tier, "skipped_deadline", "request time budget spent")
        if not isinstance(request, TierRequest):
            request = await request(tier)

        reservation: object | None = None
        price = None if tier.is_local else self.prices.lookup(tier.model, self._today(), tier.provider)
        if not tier.is_local:
            if price is None:
                await emit(self._on_event, PipelineEvent("price_missing", tier.name, tier.model))
                return _skipped(tier, "skipped_no_price", f"no price for {tier.model}")
            estimate = estimate_micro_usd(
                price, input_tokens=_estimate_input_tokens(tier, request), max_output_tokens=request.max_output_tokens
            )
            if guard is not None:
                reservation = await guard.reserve(user_id=user_id, provider=tier.provider, estimate_micro_usd=estimate)
                if reservation is None:
                    return _skipped(tier, "skipped_budget", f"budget refused ~{estimate} µUSD")

        release = await self.slots.acquire(name, deadline - self.clock() - 1.0)
        if release is None:
            if reservation is not None and guard is not None:
                await guard.settle(reservation, 0)
            return _skipped(tier, "skipped_busy", "every call slot of the tier is taken")
        await notify(progress, Progress(stage="tier", tier=tier.name, is_local=tier.is_local))
        started = self.clock()
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
        latency = int((self.clock() - started) * 1000)

        value: T | None = None
        if reply is not None:
            try:
                value = parse(reply.text)
            except BadAnalysis as exc:
                error = TierBadOutput(tier.name, str(exc))
        attempt = Attempt(
            tier=tier.name,
            provider=tier.provider,
            model=tier.model,
            outcome="answered" if error is None else error.outcome,
            latency_ms=latency,
            usage=reply.usage if reply is not None else (billed or Usage()),
            cost_micro_usd=cost,
            model_reported=reply.model_reported if reply is not None else None,
            error=error.message if error is not None else None,
        )
        if error is not None:
            await self._failed(name, tier, error)
            log.info("tier %s failed: %s (%d ms)", tier.name, error.outcome, latency)
            return Call(attempt)
        assert reply is not None
        breaker.record_success()
        return Call(attempt, value, reply.model_reported or tier.model)

    async def _failed(self, name: str, tier: Tier, error: TierError) -> None:
        breaker = self.breakers[name]
        known = breaker.admin_problem
        breaker.record_failure(error, self.clock())
        if breaker.is_open(self.clock()):
            await self.shared_breakers.open(name, breaker.seconds_left(self.clock()), breaker.admin_problem)
        if breaker.admin_problem is not None and breaker.admin_problem != known:  # once per problem
            await emit(self._on_event, PipelineEvent(breaker.admin_problem, tier.name, error.message))


def _estimate_input_tokens(tier: Tier, request: TierRequest) -> int:
    image_tokens = sum(estimate_image_tokens(tier.provider, tier.model, im.width, im.height) for im in request.images)
    text_tokens = (len(request.prompt) + len(str(request.json_schema))) // 3 + 50
    return image_tokens + text_tokens


def _skipped(tier: Tier, outcome: str, why: str) -> Call[T]:
    return Call(Attempt(tier=tier.name, provider=tier.provider, model=tier.model, outcome=outcome, error=why))
