"""The evaluation sample: a stable share of requests, every other configured tier asked in the background after
the user's answer, on its own budget that also counts against the daily cap."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.budget import GLOBAL, DbSpendingGuard, counters
from bot.quality.sampling import EVAL_SCOPE, EvalGuard
from bot.runtime.settings import BotSettings
from pipeline.evaluation import sampled
from pipeline.models import ModelCall
from tests.bot.conftest import ANN
from tests.bot.test_e2e import finished
from tests.conftest import make_photo
from tests.fakes.providers import good, hang


def test_sampling_is_stable_and_close_to_the_rate() -> None:
    ids = [f"request-{n}" for n in range(4000)]
    assert not any(sampled(i, 0.0) for i in ids) and all(sampled(i, 1.0) for i in ids)
    share = sum(sampled(i, 0.25) for i in ids) / len(ids)
    assert 0.22 < share < 0.28
    assert [sampled(i, 0.25) for i in ids[:50]] == [sampled(i, 0.25) for i in ids[:50]]
    assert {i for i in ids if sampled(i, 0.1)} <= {i for i in ids if sampled(i, 0.25)}, "a higher rate adds requests"


async def ledger(bot: Any) -> list[tuple[str, str, str, int]]:
    async with bot.services.sessions() as session:
        rows = await session.scalars(select(ModelCall).order_by(ModelCall.id))
        return [(r.purpose, r.tier, r.outcome, r.cost_micro_usd) for r in rows.all()]


async def test_a_sampled_request_is_answered_first_then_asked_of_every_other_tier(start_bot: Any) -> None:
    bot = await start_bot(cascade="ollama:0.8,gemini", eval_sample_rate=1.0, eval_daily_budget_usd=Decimal("1"))
    bot.providers.script("ollama", good(confidence=0.95))
    bot.providers.script("grok", hang(1.0))  # an evaluation call still running when the user has the card
    bot.telegram.send_photo(ANN, make_photo(61))
    card = await bot.last_text(ANN, finished)
    assert "local model" in card
    sampler = bot.services.sampler
    assert sampler is not None
    [task] = await bot.telegram.wait_for(lambda: list(sampler.running))  # started after the card, still running
    assert {r[0] for r in await ledger(bot)} == {"serve"}
    await task
    rows = await ledger(bot)
    served = [r for r in rows if r[0] == "serve"]
    evals = [r for r in rows if r[0] == "eval"]
    assert [r[1:3] for r in served] == [("ollama", "accepted")]
    assert sorted(r[1] for r in evals) == ["claude", "gemini", "grok", "openai"], "ollama already answered"
    assert all(r[2] == "answered" and r[3] > 0 for r in evals)
    async with bot.services.sessions() as session:
        ids = set((await session.scalars(select(ModelCall.request_id))).all())
        day = await counters(session, (await session.scalar(select(ModelCall.created_at))).date())
    assert len(ids) == 1, "the eval rows share the served request's id"
    assert day[EVAL_SCOPE] == sum(r[3] for r in evals) and day[GLOBAL] == sum(r[3] for r in rows)


async def test_the_eval_budget_stops_cloud_evaluation_but_not_the_answer(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", eval_sample_rate=1.0, eval_daily_budget_usd=Decimal("0"))
    bot.telegram.send_photo(ANN, make_photo(62))
    assert "Gemini" in await bot.last_text(ANN, finished)
    sampler = bot.services.sampler
    assert sampler is not None
    await bot.telegram.wait_for(lambda: sampler.started == 1)
    await asyncio.gather(*sampler.running)  # finished already, or still running
    evals = sorted(r[1:3] for r in await ledger(bot) if r[0] == "eval")
    assert evals == [("claude", "skipped_budget"), ("grok", "skipped_budget"), ("ollama", "answered"),
                     ("openai", "skipped_budget")]  # fmt: skip
    assert len(bot.providers.calls("gemini")) == 1 and bot.providers.calls("claude") == []


async def test_no_sample_when_the_rate_is_zero(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(ANN, make_photo(63))
    await bot.last_text(ANN, finished)
    assert bot.services.sampler is None and {r[0] for r in await ledger(bot)} == {"serve"}


async def test_eval_guard_counts_estimates_settles_to_actuals_and_asks_the_daily_guard(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    guard = EvalGuard(sessions, None, 1000)
    first = await guard.reserve(user_id=None, provider="google", estimate_micro_usd=600)
    assert first is not None
    assert await guard.reserve(user_id=None, provider="google", estimate_micro_usd=600) is None
    await guard.settle(first, 100)
    second = await guard.reserve(user_id=None, provider="google", estimate_micro_usd=600)
    assert second is not None
    async with sessions() as session:
        day = first[0]  # type: ignore[index]
        assert (await counters(session, day))[EVAL_SCOPE] == 700

    closed = DbSpendingGuard(
        sessions, BotSettings(_env_file=None, daily_budget_usd=Decimal("0")), ttl=timedelta(minutes=1)
    )
    strict = EvalGuard(sessions, closed, 10_000)
    assert await strict.reserve(user_id=None, provider="google", estimate_micro_usd=600) is None
    async with sessions() as session:
        assert (await counters(session, day))[EVAL_SCOPE] == 700, "the eval estimate is given back"
