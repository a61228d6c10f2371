"""Admin commands end to end: the gate, /budget (stored, logged), /cost with its chart, and budgets in action."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from PIL import Image
from sqlalchemy import select

from bot.runtime.models import BudgetChange, BudgetLimit, Payment, User
from tests.bot.conftest import ADMIN, ANN, BOB
from tests.conftest import make_photo
from tests.fakes.providers import good, server_error, unauthorized
from tests.fakes.telegram_updates import image_size

ADMIN_COMMANDS = [
    "/budget", "/budget daily 0", "/budget user 42 1.00", "/budget alert 10", "/cost", "/cost all",
    f"/grant {ANN} 30", "/refund stxANY", "/outbox", "/outbox retry 1", "/quality", "/whatif 30d ollama:0.9,claude",
    "/reviews",
]  # fmt: skip


def finished(text: str) -> bool:
    return "Analyzing" not in text


async def test_every_admin_command_from_a_non_admin_gets_the_unknown_command_reply(start_bot: Any) -> None:
    bot = await start_bot()
    bot.telegram.send_command(BOB, "/nonsense")
    unknown = await bot.last_text(BOB, lambda t: bool(t))
    for command in ADMIN_COMMANDS:
        before = len(bot.telegram.bot_messages(BOB))
        bot.telegram.send_command(BOB, command)
        await bot.telegram.wait_for(lambda b=before: len(bot.telegram.bot_messages(BOB)) == b + 1)  # type: ignore[misc]
        assert bot.telegram.last_message(BOB).plain == unknown, command  # type: ignore[union-attr]
    assert bot.telegram.sent("sendPhoto") == [] and bot.telegram.sent("refundStarPayment") == []
    async with bot.services.sessions() as session:
        assert (await session.scalars(select(BudgetLimit))).all() == []
        assert (await session.scalars(select(Payment))).all() == []
        ann = await session.get(User, ANN)
        assert ann is None or ann.paid_until is None


async def test_budget_changes_are_stored_logged_and_validated(start_bot: Any) -> None:
    bot = await start_bot()
    bot.telegram.send_command(ADMIN, "/budget")
    text = await bot.last_text(ADMIN, lambda t: "Budget for" in t)
    assert "Daily cap: $0.00 of $5.00 (0 %)" in text and "Alert when spend passes $10.00" in text
    for command, reply in [
        ("/budget daily 2.50", "Daily cap on all cloud analysis: $2.50 (was $5.00)"),
        ("/budget user 42 0.10", "(42): $0.10 (was no cap)"),
        ("/budget alert 1", "Alert level: $1.00 (was $10.00)"),
        ("/budget daily -1", "zero or more dollars"),
        ("/budget daily five", "not an amount"),
        ("/budget user bob 1", "not a Telegram user id"),
        ("/budget weekly 3", "Usage:"),
    ]:
        bot.telegram.send_command(ADMIN, command)
        await bot.last_text(ADMIN, lambda t, r=reply: r in t)  # type: ignore[misc]
    shown = bot.telegram.last_message(ADMIN)
    bot.telegram.send_command(ADMIN, "/budget")
    text = await bot.last_text(ADMIN, lambda t: "Budget for" in t and shown is not None and t != shown.plain)
    assert "Daily cap: $0.00 of $2.50" in text and "(42): $0.00 of $0.10" in text
    async with bot.services.sessions() as session:
        limits = {r.key: r.micro_usd for r in (await session.scalars(select(BudgetLimit))).all()}
        log = [(c.key, c.changed_by) for c in (await session.scalars(select(BudgetChange))).all()]
    assert limits == {"daily": 2_500_000, "user:42": 100_000, "alert": 1_000_000}
    assert log == [("daily", ADMIN), ("user:42", ADMIN), ("alert", ADMIN)]


async def test_budget_survives_a_restart(start_bot: Any) -> None:
    first = await start_bot()
    first.telegram.send_command(ADMIN, "/budget daily 0.01")
    await first.last_text(ADMIN, lambda t: "(was $5.00)" in t)
    second = await start_bot()  # a new Application on the same database
    async with second.services.sessions() as session:
        row = await session.get(BudgetLimit, "daily")
    assert row is not None and row.micro_usd == 10_000


async def test_when_the_budget_is_spent_the_local_tier_answers_with_a_warning(start_bot: Any) -> None:
    bot = await start_bot(cascade="ollama:0.9,gemini", daily_budget_usd=Decimal("0"))
    bot.providers.script("ollama", good(confidence=0.6))
    bot.telegram.send_photo(ANN, make_photo(50))
    card = await bot.last_text(ANN, finished)
    assert "Allen-Bradley" in card and "paused by today's budget" in card and "less certain" in card
    assert bot.providers.calls("gemini") == []


async def test_budget_spent_and_local_model_down_says_so_not_unreadable(start_bot: Any) -> None:
    """The issue's case: the user was told to fill the frame while the log said skipped_budget."""
    bot = await start_bot(cascade="ollama:0.9,gemini", daily_budget_usd=Decimal("0"))
    bot.providers.script("ollama", server_error(500))
    bot.telegram.send_photo(ANN, make_photo(52))
    text = await bot.last_text(ANN, finished)
    assert "today's spending budget is used up" in text and "local model could not answer" in text
    assert "filling the frame" not in text and "free photo was not used" in text
    bot.providers.script("ollama", server_error(500))
    bot.telegram.send_photo(ADMIN, make_photo(53))
    text = await bot.last_text(ADMIN, finished)
    assert "today's spending budget is used up" in text and "free photo" not in text, "admins have no free photos"


async def test_with_no_local_tier_the_user_is_told_the_budget_stopped_it(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", daily_budget_usd=Decimal("0"))
    bot.telegram.send_photo(ANN, make_photo(51))
    text = await bot.last_text(ANN, finished)
    assert "today's spending budget is used up" in text and "free photo was not used" in text
    assert bot.providers.calls("gemini") == []
    async with bot.services.sessions() as session:
        assert (await session.get(User, ANN)).free_used == 0  # type: ignore[union-attr]


async def test_per_user_cap_stops_only_that_user(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_command(ADMIN, f"/budget user {ANN} 0")
    await bot.last_text(ADMIN, lambda t: "stopped for this user" in t)
    bot.telegram.send_photo(ANN, make_photo(52))
    assert "budget is used up" in await bot.last_text(ANN, finished)
    bot.telegram.send_photo(BOB, make_photo(53))
    assert "Allen-Bradley" in await bot.last_text(BOB, finished)


async def test_spend_alert_and_key_alert_reach_admins_once(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini:0.7,claude", budget_alert_usd=Decimal("0.000001"))
    bot.providers.script("gemini", unauthorized(), unauthorized())
    for seed in (54, 55):
        bot.telegram.send_photo(ANN, make_photo(seed))
        await bot.last_text(ANN, lambda t: finished(t) and "Claude" in t)
    texts = await bot.telegram.wait_for(
        lambda: (t := [m.plain or "" for m in bot.telegram.bot_messages(ADMIN)]) and len(t) >= 2 and t
    )
    assert sum("API key for gemini was rejected" in t for t in texts) == 1
    assert sum("above the alert level" in t for t in texts) == 1


async def test_cost_report_with_chart(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini:0.99,claude")
    bot.telegram.send_photo(ANN, make_photo(56))
    await bot.last_text(ANN, finished)
    bot.telegram.send_photo(ANN, make_photo(56))
    await bot.last_text(ANN, lambda t: "from an earlier analysis" in t)
    bot.telegram.send_command(ADMIN, "/cost 7d")
    photo = await bot.telegram.wait_for(
        lambda: bot.telegram.last_message(ADMIN).kind == "photo" and bot.telegram.last_message(ADMIN)
    )  # type: ignore[union-attr]
    report = bot.telegram.bot_messages(ADMIN)[-2].plain or ""
    assert "2 analyses · 1 from the cache (50 %)" in report
    assert "gemini (google): 1 call" in report and "claude (anthropic): 1 call" in report
    assert "would have cost about" in report and "Top users by spend" in report
    assert image_size(_bytes_of(bot, photo.json["photo"][0]["file_id"])) == (780, 1020)
    bot.telegram.send_command(ADMIN, "/cost yesterday")
    await bot.last_text(ADMIN, lambda t: "Usage: /cost" in t)


def _bytes_of(bot: Any, file_id: str) -> bytes:
    data: bytes = bot.telegram._files[file_id][1]
    Image.open(io.BytesIO(data)).verify()
    return data
