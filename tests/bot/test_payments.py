"""Telegram Stars end to end through the fake Bot API, and the pure payment rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import payments
from bot.models import Payment, User
from tests.bot.conftest import ADMIN, ANN, BOB
from tests.conftest import make_photo

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PRICE = 250


@pytest.mark.parametrize(
    ("payload", "currency", "amount", "user", "problem"),
    [
        ("plan30:42", "XTR", 250, 42, None),
        ("plan30:42", "USD", 250, 42, "Stars only"),
        ("plan30:43", "XTR", 250, 42, "not for your account"),
        ("pack10:42", "XTR", 250, 42, "not for your account"),
        ("plan30:42", "XTR", 100, 42, "price has changed"),
    ],
)
def test_pre_checkout_problem(payload: str, currency: str, amount: int, user: int, problem: str | None) -> None:
    found = payments.pre_checkout_problem(
        payload=payload, currency=currency, total_amount=amount, user_id=user, price=PRICE
    )
    assert found is None if problem is None else problem in (found or "")


@pytest.mark.parametrize(
    ("paid_until", "days", "expected"),
    [
        (None, 30, NOW + timedelta(days=30)),
        (NOW - timedelta(days=3), 30, NOW + timedelta(days=30)),  # lapsed: starts now
        (NOW + timedelta(days=5), 30, NOW + timedelta(days=35)),  # renewal before the end: added on top
        (NOW, 1, NOW + timedelta(days=1)),
    ],
)
def test_extended(paid_until: datetime | None, days: int, expected: datetime) -> None:
    assert payments.extended(paid_until, NOW, days) == expected


async def paid_until(bot: Any, user_id: int) -> datetime | None:
    async with bot.services.sessions() as session:
        user = await session.get(User, user_id)
        return user.paid_until if user else None


async def payment_rows(bot: Any) -> list[Payment]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(Payment).order_by(Payment.id))).all())


async def test_upgrade_sends_a_stars_subscription_invoice(start_bot: Any) -> None:
    bot = await start_bot(stars_monthly_price=PRICE)
    bot.telegram.send_command(ANN, "/upgrade")
    await bot.last_text(ANN, lambda t: "Unlimited photo analyses" in t)
    [link] = bot.telegram.sent("createInvoiceLink")
    prices = link["prices"] if isinstance(link["prices"], list) else json.loads(link["prices"])
    assert link["currency"] == "XTR" and "provider_token" not in link  # empty
    assert prices == [{"label": "30 days unlimited", "amount": PRICE}], "exactly one price item"
    assert link["subscription_period"] == 2592000 and link["payload"] == f"plan30:{ANN}"
    message = bot.telegram.last_message(ANN)
    assert message is not None and message.buttons[0].startswith("https://t.me/$fake_invoice_")


async def test_pre_checkout_is_answered_after_validating_the_payload(start_bot: Any) -> None:
    bot = await start_bot(stars_monthly_price=PRICE)
    bot.telegram.pre_checkout(ANN, f"plan30:{ANN}", PRICE)
    bot.telegram.pre_checkout(ANN, f"plan30:{BOB}", PRICE)
    bot.telegram.pre_checkout(ANN, f"plan30:{ANN}", PRICE - 1)
    answers = await bot.telegram.wait_for(
        lambda: (a := bot.telegram.sent("answerPreCheckoutQuery")) and len(a) == 3 and a
    )
    assert [a["ok"] for a in answers] == [True, False, False]
    assert "not for your account" in answers[1]["error_message"] and "price" in answers[2]["error_message"]
    assert all(a.get("error") is None for a in answers)


async def test_payment_extends_the_plan_once_even_when_redelivered_and_renewals_add_up(start_bot: Any) -> None:
    bot = await start_bot(stars_monthly_price=PRICE, free_photos=0)
    before = datetime.now(UTC)
    bot.telegram.successful_payment(ANN, f"plan30:{ANN}", PRICE, "stxCHARGE1", is_first_recurring=True)
    await bot.last_text(ANN, lambda t: "Thank you" in t)
    first = await paid_until(bot, ANN)
    assert first is not None and timedelta(days=30) <= first - before < timedelta(days=30, minutes=1)
    redelivered = bot.telegram.successful_payment(ANN, f"plan30:{ANN}", PRICE, "stxCHARGE1", is_first_recurring=True)
    await bot.telegram.wait_until_confirmed(redelivered)
    bot.telegram.send_command(ANN, "/usage")
    usage = await bot.last_text(ANN, lambda t: "Your usage" in t)
    assert f"paid until {first:%Y-%m-%d}" in usage
    assert await paid_until(bot, ANN) == first and len(await payment_rows(bot)) == 1, "credited once"
    assert sum("Thank you" in (m.plain or "") for m in bot.telegram.bot_messages(ANN)) == 1

    bot.telegram.successful_payment(ANN, f"plan30:{ANN}", PRICE, "stxCHARGE2", is_recurring=True)
    await bot.last_text(ANN, lambda t: "renewed" in t)
    assert await paid_until(bot, ANN) == first + timedelta(days=30)
    rows = await payment_rows(bot)
    assert [(r.charge_id, r.total_amount, r.is_recurring) for r in rows] == [
        ("stxCHARGE1", PRICE, False), ("stxCHARGE2", PRICE, True)
    ]  # fmt: skip

    bot.telegram.send_photo(ANN, make_photo(40))  # paid: no free photos needed
    await bot.last_text(ANN, lambda t: "Allen-Bradley" in t)


async def test_admin_refund_returns_the_stars_and_ends_the_plan(start_bot: Any) -> None:
    bot = await start_bot(stars_monthly_price=PRICE)
    bot.telegram.successful_payment(ANN, f"plan30:{ANN}", PRICE, "stxREFUND")
    await bot.last_text(ANN, lambda t: "Thank you" in t)
    bot.telegram.send_command(ADMIN, "/refund stxREFUND")
    await bot.last_text(ADMIN, lambda t: "Refunded 250 Stars" in t)
    assert bot.telegram.sent("refundStarPayment") == [{"user_id": ANN, "telegram_payment_charge_id": "stxREFUND"}]
    await bot.last_text(ANN, lambda t: "refunded" in t)
    until = await paid_until(bot, ANN)
    assert until is not None and until <= datetime.now(UTC)
    [row] = await payment_rows(bot)
    assert row.refunded_at is not None and row.refunded_by == ADMIN
    bot.telegram.send_command(ADMIN, "/refund stxREFUND")
    await bot.last_text(ADMIN, lambda t: "refunded already" in t)
    bot.telegram.send_command(ADMIN, "/refund nope")
    await bot.last_text(ADMIN, lambda t: "No Stars payment" in t)
    assert len(bot.telegram.sent("refundStarPayment")) == 1


async def test_grant_gives_days_and_is_logged(start_bot: Any) -> None:
    bot = await start_bot(free_photos=0)
    bot.telegram.send_command(ADMIN, f"/grant {BOB} 10")
    await bot.last_text(ADMIN, lambda t: "unlimited photos until" in t)
    await bot.last_text(BOB, lambda t: "An admin gave you" in t)
    until = await paid_until(bot, BOB)
    assert until is not None and timedelta(days=9, hours=23) < until - datetime.now(UTC) <= timedelta(days=10)
    [row] = await payment_rows(bot)
    assert (row.kind, row.granted_by, row.days, row.user_id) == ("grant", ADMIN, 10, BOB)
    for bad in ("/grant", f"/grant {BOB}", f"/grant {BOB} -5", f"/grant {BOB} 0", "/grant bob 5"):
        bot.telegram.send_command(ADMIN, bad)
        await bot.last_text(ADMIN, lambda t: "Usage: /grant" in t)
        bot.telegram.send_command(ADMIN, "/help")
        await bot.last_text(ADMIN, lambda t: "How to use" in t)


async def test_free_photos_used_up_offers_the_subscription_button(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", free_photos=0, stars_monthly_price=PRICE)
    bot.telegram.send_photo(ANN, make_photo(41))
    text = await bot.last_text(ANN, lambda t: "used your 0 free photo" in t)
    assert f"{PRICE} Telegram Stars" in text
    message = bot.telegram.last_message(ANN)
    assert message is not None and message.buttons[0].startswith("https://t.me/$fake_invoice_")
    assert bot.telegram.sent("createInvoiceLink")[0]["payload"] == f"plan30:{ANN}"
    assert bot.providers.calls("gemini") == []


async def test_usage_and_paysupport(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(ANN, make_photo(42))
    await bot.last_text(ANN, lambda t: "Analyzing" not in t)
    bot.telegram.send_command(ANN, "/usage")
    text = await bot.last_text(ANN, lambda t: "Your usage" in t)
    assert "Free analyses: 1 of 3 used, 2 left." in text and "/upgrade" in text
    bot.telegram.send_command(ANN, "/paysupport")
    assert "refund" in await bot.last_text(ANN, lambda t: "Help with payments" in t)
    bot.telegram.send_command(ADMIN, "/usage")
    assert "admin" in await bot.last_text(ADMIN, lambda t: "Your usage" in t)
