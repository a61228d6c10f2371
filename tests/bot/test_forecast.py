"""The month-end forecast on /cost and the alert when a day runs hot, with what explains it."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.accounts.forecast import Day, projection, spike
from pipeline import format_usd
from pipeline.ledger import record_attempts
from pipeline.types import Attempt
from tests.bot.conftest import ADMIN

D = date(2026, 11, 20)


def days(*values: tuple[int, int, int]) -> list[Day]:
    return [Day(D - timedelta(days=n + 1), photos, escalated, spend) for n, (photos, escalated, spend) in
            enumerate(values)]  # fmt: skip


@pytest.mark.parametrize(
    ("mtd", "average", "today", "expected"),
    [(1000, 100.0, date(2026, 11, 20), 2000), (0, 50.4, date(2026, 2, 1), 1361), (700, 9.0, date(2026, 12, 31), 700)],
)
def test_projection(mtd: int, average: float, today: date, expected: int) -> None:
    assert projection(mtd, average, today) == expected


WEEK = days(*[(100, 20, 10_000)] * 7)


@pytest.mark.parametrize(
    ("day", "history", "cause"),
    [
        (Day(D, 100, 20, 11_900), WEEK, None),  # within 20 %
        (Day(D, 150, 30, 15_000), WEEK, "more traffic"),
        (Day(D, 100, 45, 15_000), WEEK, "a worse first tier (more photos escalated)"),
        (Day(D, 100, 22, 15_000), WEEK, "dearer calls at the same escalation rate"),
        (Day(D, 150, 30, 15_000), WEEK[:2], None),  # too little history
        (Day(D, 0, 0, 15_000), WEEK, None),
    ],
)
def test_spike_and_its_cause(day: Day, history: list[Day], cause: str | None) -> None:
    found = spike(day, history)
    if cause is None:
        assert found is None
    else:
        assert found is not None and found.cause.startswith(cause)


async def test_cost_shows_the_forecast_and_a_hot_day_alerts_the_admins_with_its_cause(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    spends: dict[date, int] = {}

    def photo(tier: str, outcome: str, cost: int) -> Attempt:
        return Attempt(tier, tier, f"{tier}-m", outcome, cost_micro_usd=cost)

    async with bot.services.sessions.begin() as session:
        for back in range(0, 9):
            when = today - timedelta(days=back)
            photos, cost = (20, 100) if back == 1 else (10, 100)  # yesterday: twice the traffic
            if back == 0:
                photos = 1
            for n in range(photos):
                escalated = n % 5 == 0
                attempts = [photo("ollama", "escalated", 0), photo("gemini", "accepted", cost)] if escalated else [
                    photo("gemini", "accepted", cost)]  # fmt: skip
                record_attempts(session, request_id=f"r{back}-{n}", user_id=1, attempts=attempts, now=when)
                spends[when.date()] = spends.get(when.date(), 0) + cost
    month = sum(v for d, v in spends.items() if (d.year, d.month) == (today.year, today.month))
    trailing = sum(spends[(today - timedelta(days=n)).date()] for n in range(1, 8)) / 7
    left = calendar.monthrange(today.year, today.month)[1] - today.day

    bot.telegram.send_command(ADMIN, "/cost today")
    text = await bot.last_text(ADMIN, lambda t: "Month to date" in t, timeout=20)
    assert f"Month to date: {format_usd(month)}" in text
    assert f"projected month end {format_usd(month + round(trailing * left))}" in text

    alerts = bot.services.alerts
    assert alerts is not None
    await alerts.check_all()
    await alerts.check_all()  # once a day
    hot = [m for m in bot.telegram.bot_messages(ADMIN) if "📈" in (m.plain or "")]
    assert len(hot) == 1
    assert "100% above the trailing average of $0.0010/day" in (hot[0].plain or "")
    assert "Traffic +100% (20 photos), cost per photo +0%, escalation rate 20% (was 20%)" in (hot[0].plain or "")
    assert "Mostly: more traffic." in (hot[0].plain or "")
