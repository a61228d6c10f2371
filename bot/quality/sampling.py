"""The evaluation sample from real traffic: which answered requests are also sent to every configured tier,
the separate eval budget they spend from, and the background task that does it after the user is answered.

Money: an eval call must pass two caps — ``EVAL_DAILY_BUDGET_USD`` (its own counter, scope "eval", in
``spend_counters``) and then the daily guard like any other call without a user, so the day's total cap is
never exceeded by measurement. The eval counter is a conditional UPDATE like the daily one; a crash between
reserve and settle leaves the estimate counted for the rest of the day (the safe direction).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, literal, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.budget import day_bounds, usd_to_micro
from bot.runtime.models import SpendCounter
from pipeline import Result, SpendingGuard, build_tiers
from pipeline.costs import PriceTable
from pipeline.evaluation import Evaluator, sampled
from pipeline.models import ModelCall, upsert_insert
from pipeline.tiers import TIER_NAMES

if TYPE_CHECKING:
    from bot.runtime.services import Services
    from bot.runtime.settings import AppSettings

log = logging.getLogger(__name__)

EVAL_SCOPE = "eval"


class EvalGuard:
    """``SpendingGuard`` for the evaluation sample: the eval cap first, then the bot's daily guard."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        daily: SpendingGuard | None,
        cap_micro_usd: int,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._daily = daily
        self._cap = cap_micro_usd
        self._now = now

    async def reserve(self, *, user_id: int | None, provider: str, estimate_micro_usd: int) -> object | None:
        day = self._now().date()
        async with self._sessions.begin() as session:
            await _seed(session, day)
            taken = await session.execute(
                update(SpendCounter)
                .where(SpendCounter.scope == EVAL_SCOPE, SpendCounter.day == day.isoformat())
                .where(SpendCounter.micro_usd + estimate_micro_usd <= self._cap)
                .values(micro_usd=SpendCounter.micro_usd + estimate_micro_usd)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                log.info("eval budget refused %s ~%d µUSD", provider, estimate_micro_usd)
                return None
        inner: object | None = True
        if self._daily is not None:
            inner = await self._daily.reserve(user_id=None, provider=provider, estimate_micro_usd=estimate_micro_usd)
            if inner is None:
                await self._adjust(day, -estimate_micro_usd)
                return None
        return (day, estimate_micro_usd, inner)

    async def settle(self, reservation: object, actual_micro_usd: int) -> None:
        assert isinstance(reservation, tuple)
        day, estimate, inner = reservation
        if self._daily is not None:
            await self._daily.settle(inner, actual_micro_usd)
        await self._adjust(day, actual_micro_usd - estimate)

    async def _adjust(self, day: date, delta: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(SpendCounter)
                .where(SpendCounter.scope == EVAL_SCOPE, SpendCounter.day == day.isoformat())
                .values(micro_usd=SpendCounter.micro_usd + delta)
                .execution_options(synchronize_session=False)
            )


async def _seed(session: AsyncSession, day: date) -> None:
    """The day's eval counter from the ledger's eval rows, if it does not exist yet (race-free)."""
    start, end = day_bounds(day)
    spent = select(func.coalesce(func.sum(ModelCall.cost_micro_usd), 0)).where(
        ModelCall.created_at >= start, ModelCall.created_at < end, ModelCall.purpose == "eval"
    )
    row = select(literal(EVAL_SCOPE), literal(day.isoformat()), spent.scalar_subquery()).where(true())
    insert = upsert_insert(session)
    await session.execute(
        insert(SpendCounter)
        .from_select(["scope", "day", "micro_usd"], row)
        .on_conflict_do_nothing(index_elements=["scope", "day"])
    )


@dataclass
class Sampler:
    """What the bot needs to run the evaluation sample; built with the services, closed with them."""

    rate: float
    evaluator: Evaluator
    guard: EvalGuard
    running: set[asyncio.Task[None]] = field(default_factory=set)
    started: int = 0  # evaluations started since start-up

    def maybe_evaluate(
        self, photos: Sequence[bytes], caption: str | None, result: Result, *, user_id: int | None
    ) -> asyncio.Task[None] | None:
        """Start the background evaluation when this answered request is in the sample; never blocks."""
        receipt = result.receipt
        if receipt.source != "model" or not sampled(receipt.request_id, self.rate):
            return None
        already = {a.tier for a in receipt.attempts if a.analysis is not None}
        task = asyncio.get_running_loop().create_task(
            self._run(list(photos), caption, receipt.request_id, user_id, already), name=f"eval-{receipt.request_id}"
        )
        self.running.add(task)
        self.started += 1
        task.add_done_callback(self.running.discard)
        return task

    async def _run(
        self, photos: list[bytes], caption: str | None, request_id: str, user_id: int | None, already: set[str]
    ) -> None:
        try:
            attempts = await self.evaluator.run(
                photos, caption=caption, request_id=request_id, user_id=user_id, guard=self.guard, already=already
            )
            log.info("evaluation of %s: %s", request_id, ", ".join(f"{a.tier} {a.outcome}" for a in attempts))
        except Exception:
            log.exception("evaluation of %s failed", request_id)

    async def aclose(self) -> None:
        """Let running evaluations finish (they are paid for), then close the eval tiers' clients."""
        if self.running:
            await asyncio.gather(*self.running, return_exceptions=True)
        await self.evaluator.aclose()


def build_sampler(settings: AppSettings, services: Services, prices: PriceTable) -> Sampler | None:
    """None when EVAL_SAMPLE_RATE is 0. Its tiers are every configured one, not only those in CASCADE."""
    rate = settings.bot.eval_sample_rate
    if rate <= 0:
        return None
    tiers = build_tiers(settings.pipeline, list(TIER_NAMES))
    evaluator = Evaluator(settings.pipeline, services.sessions, tiers, prices)
    cap = usd_to_micro(settings.bot.eval_daily_budget_usd) or 0
    return Sampler(rate, evaluator, EvalGuard(services.sessions, services.guard, cap))
