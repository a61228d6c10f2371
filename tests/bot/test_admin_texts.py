"""What admins read: amounts and counts (pure), /budget and its changes, /cost and its chart, end to end.

Each reply is checked for the order of its parts and its visible length in UTF-16 units, as Telegram counts."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import budget
from bot.accounts.amounts import count, tokens, usd
from bot.chat import budget_report, costchart
from pipeline.models import ModelCall
from tests.bot.conftest import ADMIN, ANN
from tests.conftest import make_photo
from tests.fakes.providers import good, server_error

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def visible(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def in_order(text: str, *parts: str) -> bool:
    positions = [text.find(p) for p in parts]
    return -1 not in positions and positions == sorted(positions)


@pytest.mark.parametrize(
    ("micro", "shown"),
    [(0, "$0.00"), (5_000_000, "$5.00"), (2_500_000, "$2.50"), (100_000, "$0.10"), (1_234, "$0.0012"),
     (12_345_678, "$12.3457"), (49, "under $0.0001"), (50, "$0.0001")],
)  # fmt: skip
def test_usd(micro: int, shown: str) -> None:
    assert usd(micro) == shown


def test_counts_and_tokens() -> None:
    assert (count(1, "call"), count(2, "call"), count(1, "analysis", "analyses"), count(1200, "call")) == (
        "1 call", "2 calls", "1 analysis", "1,200 calls"
    )  # fmt: skip
    assert (tokens(950), tokens(12_345), tokens(4_100_000)) == ("950", "12.3k", "4.1M")


CAPS = budget.Caps(daily=5_000_000, alert=10_000_000, user_default=None, users={42: 100_000})


@pytest.mark.parametrize(
    ("key", "new", "expected"),
    [
        ("daily", 0, ["Daily cap on all cloud analysis: <b>$0.00</b> (was $5.00).", "Cloud analysis is now"]),
        ("daily", None, ["Daily cap on all cloud analysis: <b>no cap</b> (was $5.00)."]),
        ("user:42", 0, ["Daily cap for Ann (42): <b>$0.00</b> (was $0.10).", "stopped for this user"]),
        ("user:7", 1_000_000, ["Daily cap for user (7): <b>$1.00</b> (was no cap)."]),
        ("alert", None, ["Alert level: <b>off</b> (was $10.00)."]),
    ],
)
def test_a_change_says_what_was_in_force_and_what_it_means(key: str, new: int | None, expected: list[str]) -> None:
    text = budget_report.changed(key, new, budget_report.in_force(CAPS, key), {42: "Ann"})
    assert in_order(text, *expected)
    assert "user:" not in text and "stored" not in text


@pytest.mark.parametrize(
    ("period", "first", "start"),
    [("today", None, date(2026, 11, 16)), ("7d", None, date(2026, 11, 16)), ("30d", None, date(2026, 10, 24)),
     ("all", date(2026, 11, 20), date(2026, 11, 16)), ("all", date(2026, 9, 1), date(2026, 9, 1)),
     ("all", None, date(2026, 11, 16))],
)  # fmt: skip
def test_chart_window_is_at_least_a_week(period: str, first: date | None, start: date) -> None:
    assert costchart.window(period, NOW, first) == (start, NOW.date())


def _call(request: str, tier: str, provider: str, cost: int, ago: int, outcome: str = "accepted") -> ModelCall:
    return ModelCall(
        request_id=request, user_id=42, tier=tier, provider=provider, model_requested="m", outcome=outcome,
        input_tokens=10, output_tokens=5, cost_micro_usd=cost, created_at=NOW - timedelta(days=ago),
    )  # fmt: skip


async def test_chart_data_has_every_day_and_no_free_provider(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        session.add_all(
            [
                _call("a", "ollama", "ollama", 0, 0, "escalated"),
                _call("a", "gemini", "google", 3_000, 0),
                _call("b", "cache", "cache", 0, 0, "hit_exact"),
                _call("c", "claude", "anthropic", 9_000, 3),
                _call("d", "gemini", "google", 999, 40),  # before the window
            ]
        )
    async with sessions() as session:
        data = await costchart.load(session, "7d", NOW)
    assert data.days == [date(2026, 11, 16) + timedelta(days=i) for i in range(7)], "idle days included"
    assert data.spend == {"anthropic": [0, 0, 0, 9_000, 0, 0, 0], "google": [0, 0, 0, 0, 0, 0, 3_000]}
    assert (data.analyses[-1], data.cache_hits[-1], data.analyses[0]) == (2, 1, 0)
    assert data.cost_per_photo()[-1] == 1_500 and data.cost_per_photo()[0] is None
    assert data.hit_rate()[-1] == 50
    png = costchart.render(data)
    assert Image.open(io.BytesIO(png)).size == (780, 1020)


async def test_budget_replies_read_like_plain_money(start_bot: Any) -> None:
    bot = await start_bot()
    bot.telegram.send_command(ADMIN, "/budget")
    report = await bot.last_text(ADMIN, lambda t: "Budget for" in t)
    expected = ["Budget for", "Cloud spend today: $0.00", "Daily cap: $0.00 of $5.00 (0 %)",
                "Alert when spend passes $10.00", "Per-user cap: none", "/budget daily 5.00"]  # fmt: skip
    assert in_order(report, *expected)
    assert "$0.0000" not in report and "in flight" not in report and visible(report) < 600
    bot.telegram.send_command(ADMIN, "/budget daily 0")
    stopped = await bot.last_text(ADMIN, lambda t: "stopped" in t)
    assert in_order(stopped, "Daily cap on all cloud analysis: $0.00 (was $5.00).", "Cloud analysis is now stopped",
                    "Budget for", "Daily cap: $0.00: cloud analysis is stopped")  # fmt: skip
    bot.telegram.send_command(ANN, "/start")
    await bot.last_text(ANN, lambda t: "PLC Copilot" in t)
    bot.telegram.send_command(ADMIN, f"/budget user {ANN} 0.10")
    capped = await bot.last_text(ADMIN, lambda t: "Daily cap for" in t)
    assert in_order(capped, f"Daily cap for User{ANN} ({ANN}): $0.10 (was no cap).", "Users with their own cap",
                    f"User{ANN} ({ANN}): $0.00 of $0.10 (0 %)")  # fmt: skip
    assert "user:" not in capped and visible(capped) < 900


async def test_cost_counts_calls_and_failures_and_defaults_to_a_week(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini:0.7,claude")
    bot.providers.script("gemini", server_error(503))
    bot.providers.script("claude", good(confidence=0.9))
    bot.telegram.send_photo(ANN, make_photo(71))
    await bot.last_text(ANN, lambda t: "Analyzing" not in t)
    bot.telegram.send_command(ADMIN, "/cost")
    photo = await bot.telegram.wait_for(
        lambda: (m := bot.telegram.last_message(ADMIN)) is not None and m.kind == "photo" and m
    )
    text = bot.telegram.bot_messages(ADMIN)[-2].plain or ""
    assert in_order(text, "Cost, the last 7 days", "1 analysis · 0 from the cache (0 %)", "Spent:", "By tier",
                    "claude (anthropic): 1 call ·", "gemini (google): 1 call, 1 failed · $0.00")  # fmt: skip
    assert "By provider" not in text, "one table when tiers and providers are one to one"
    assert "calls" not in text and "$0.0000" not in text and visible(text) < 700
    assert "Cloud spend, cost per photo and cache hits" in (photo.plain or "")
