"""Cost report arithmetic (pure, table-tested), the SQL sums over a real ledger, and the chart PNG."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import quota, reports
from pipeline.costs import Price
from pipeline.models import ModelCall

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HAIKU = Price("claude-haiku-4-5", "anthropic", Decimal("1.00"), Decimal("5.00"), date(2025, 10, 15), None)


@pytest.mark.parametrize(
    ("total", "count", "avg"), [(0, 0, 0), (10, 0, 0), (10, 3, 3), (11, 2, 6), (5, 2, 3), (1_000_001, 1, 1_000_001)]
)
def test_average(total: int, count: int, avg: int) -> None:
    assert reports.average(total, count) == avg


@pytest.mark.parametrize(
    ("usages", "analyses", "expected"),
    [
        ([], 0, 0),
        ([], 5, 0),  # nothing recorded any usage: nothing to extrapolate from
        ([(1000, 200)], 1, 1000 * 1 + 200 * 5),
        ([(1000, 200)], 3, 3 * 2000),  # two cache hits are priced like the average analysis
        ([(1000, 0), (3000, 0)], 3, 1000 + 3000 + 2000),
    ],
)
def test_baseline_cost(usages: list[tuple[int, int]], analyses: int, expected: int) -> None:
    assert reports.baseline_cost(usages, analyses, HAIKU) == expected


@pytest.mark.parametrize(
    ("period", "start"),
    [("today", datetime(2026, 11, 22, tzinfo=UTC)), ("7d", datetime(2026, 11, 16, tzinfo=UTC)),
     ("30d", datetime(2026, 10, 24, tzinfo=UTC)), ("all", None)],
)  # fmt: skip
def test_period_start(period: reports.Period, start: datetime | None) -> None:
    assert reports.period_start(period, NOW) == start


def _call(request: str, user: int, tier: str, provider: str, cost: int, tokens: tuple[int, int], ago: int = 0,
          outcome: str = "accepted") -> ModelCall:  # fmt: skip
    return ModelCall(
        request_id=request, user_id=user, tier=tier, provider=provider, model_requested="m", outcome=outcome,
        input_tokens=tokens[0], output_tokens=tokens[1], cost_micro_usd=cost, created_at=NOW - timedelta(days=ago),
    )  # fmt: skip


async def test_report_sums_the_ledger(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await quota.touch_user(session, user_id=42, first_name="Ann <3", username=None, language_code="en", now=NOW)
        session.add_all(
            [
                _call("a", 42, "gemini", "google", 300, (1000, 200), outcome="escalated"),
                _call("a", 42, "claude", "anthropic", 2_000, (1500, 150)),
                _call("b", 43, "cache", "cache", 0, (0, 0), outcome="hit_exact"),
                _call("c", 43, "ollama", "ollama", 0, (800, 100)),
                _call("c", 43, "claude", "anthropic", 0, (0, 0), outcome="skipped_budget"),
                _call("old", 42, "gemini", "google", 999, (1000, 100), ago=3),
            ]
        )
    async with sessions() as session:
        today = await reports.build_report(session, "today", NOW, baseline_model="claude-haiku-4-5", baseline=HAIKU)
        week = await reports.build_report(session, "7d", NOW, baseline_model="x", baseline=None)
    assert (today.analyses, today.cache_hits, today.total_micro_usd, today.average_micro_usd) == (3, 1, 2_300, 767)
    assert [(x.name, x.calls, x.input_tokens, x.micro_usd) for x in today.by_provider] == [
        ("anthropic", 1, 1500, 2_000), ("google", 1, 1000, 300), ("ollama", 1, 800, 0)
    ]  # fmt: skip
    assert [x.name for x in today.by_tier] == ["claude (anthropic)", "gemini (google)", "ollama"]
    assert today.top_users == [("Ann <3 (42)", 2_300), ("? (43)", 0)]
    # a: max 1500 in / 200 out = 2500; c: 800/100 = 1300; b (cache) gets their average 1900
    assert today.baseline_micro_usd == 2_500 + 1_300 + 1_900
    assert today.daily == {NOW.date(): {"anthropic": 2_000, "google": 300, "ollama": 0}}
    assert week.analyses == 4 and week.total_micro_usd == 3_299 and week.baseline_micro_usd is None
    assert len(week.daily) == 2
    text = reports.report_text(today)
    assert "Ann &lt;3 (42)" in text and "saved $0.0034" in text and "3 analyses · 1 from the cache (33 %)" in text
    assert "No price for the baseline model x" in reports.report_text(week)
