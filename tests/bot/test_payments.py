"""Telegram Stars end to end through the fake Bot API, and the pure payment rules."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import payments, quota
from bot.runtime.models import Payment, User
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


async def test_concurrent_renewals_each_add_their_days(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Four renewals of one user committed at the same moment add 4 × 30 days. Before, each read the same old
    paid_until and wrote it + 30 days: on PostgreSQL the user ended with 30 days for four payments."""
    async with sessions.begin() as session:
        await quota.touch_user(session, user_id=ANN, first_name="Ann", username=None, language_code=None, now=NOW)

    async def renew(i: int) -> datetime | None:
        async with sessions.begin() as session:
            return await payments.record_payment(
                session, user_id=ANN, charge_id=f"stxRENEW{i}", kind="stars", days=30, now=NOW,
                total_amount=PRICE, payload=f"plan30:{ANN}", is_recurring=True,
            )  # fmt: skip

    ends = await asyncio.gather(*(renew(i) for i in range(4)))
    assert sorted(e for e in ends if e is not None) == [NOW + timedelta(days=30 * k) for k in range(1, 5)]
    async with sessions() as session:
        user = await session.get(User, ANN)
    assert user is not None and user.paid_until == NOW + timedelta(days=120)


@pytest.mark.parametrize(
    ("now", "period_end", "days", "paid_until", "expected", "taken"),
    [
        (NOW, NOW + timedelta(days=30), 30, NOW + timedelta(days=30), NOW, 30),  # refunded at once: all of it
        (NOW, NOW + timedelta(days=10), 30, NOW + timedelta(days=10), NOW, 10),  # 20 days used: the last 10
        (NOW, NOW + timedelta(days=30), 30, NOW + timedelta(days=70), NOW + timedelta(days=40), 30),  # later ones stay
        (NOW, NOW + timedelta(days=60), 30, NOW + timedelta(days=70), NOW + timedelta(days=40), 30),  # paid ahead
        (NOW, NOW - timedelta(days=1), 30, NOW + timedelta(days=29), NOW + timedelta(days=29), 0),  # used up
        (NOW, NOW, 0, NOW + timedelta(days=5), NOW + timedelta(days=5), 0),  # never credited
    ],
)
def test_refunded_until(
    now: datetime, period_end: datetime, days: int, paid_until: datetime, expected: datetime, taken: int
) -> None:
    until, unused = payments.refunded_until(paid_until, now, period_end=period_end, days=days)
    assert (until, unused) == (expected, timedelta(days=taken))


@pytest.mark.parametrize(
    ("payload", "currency", "amount", "renewal_prices", "problem"),
    [
        ("plan30:42", "XTR", 250, set(), None),
        ("plan30:42", "USD", 250, set(), "Stars only"),
        ("plan30:43", "XTR", 250, set(), "not for your account"),
        ("plan30:42", "XTR", 1, set(), "price"),
        ("plan30:42", "XTR", 200, {200}, None),  # a renewal at the price the subscription was made with
        ("plan30:43", "XTR", 200, {200}, "not for your account"),
        ("plan30:42", "USD", 200, {200}, "Stars only"),
    ],
)
def test_payment_problem(
    payload: str, currency: str, amount: int, renewal_prices: set[int], problem: str | None
) -> None:
    found = payments.payment_problem(
        payload=payload, currency=currency, total_amount=amount, user_id=42, price=PRICE, renewal_prices=renewal_prices
    )
    assert found is None if problem is None else problem in (found or "")


def told(bot: Any, chat_id: int, words: str) -> int:
    return sum(words in (m.plain or "") for m in bot.telegram.bot_messages(chat_id))


def near(moment: datetime | None, expected: datetime) -> bool:
    return moment is not None and abs(moment - expected) < timedelta(minutes=1)


async def test_a_refund_takes_back_only_that_payments_days_and_cancels_the_subscription(start_bot: Any) -> None:
    """Ann pays, renews in advance and is given 10 days by an admin. Refunding the first payment takes back its
    30 days only (before, it ended the whole plan, renewal and grant included) and cancels the subscription so
    Telegram stops renewing it; refunding the renewal afterwards takes back its 30 days, leaving the grant."""
    bot = await start_bot(stars_monthly_price=PRICE)
    start = datetime.now(UTC)
    bot.telegram.successful_payment(ANN, f"plan30:{ANN}", PRICE, "stxFIRST", is_first_recurring=True)
    await bot.last_text(ANN, lambda t: "Thank you" in t)
    bot.telegram.successful_payment(ANN, f"plan30:{ANN}", PRICE, "stxSECOND", is_recurring=True)
    await bot.last_text(ANN, lambda t: "renewed" in t)
    bot.telegram.send_command(ADMIN, f"/grant {ANN} 10")
    await bot.last_text(ANN, lambda t: "An admin gave you" in t)
    assert near(await paid_until(bot, ANN), start + timedelta(days=70))

    bot.telegram.send_command(ADMIN, "/refund stxFIRST")
    report = await bot.last_text(ADMIN, lambda t: "Refunded 250 Stars" in t)
    assert "30 days" in report and "cancelled" in report
    assert near(await paid_until(bot, ANN), start + timedelta(days=40)), "the renewal and the grant remain"
    notice = await bot.last_text(ANN, lambda t: "refunded" in t)
    assert f"{start + timedelta(days=40):%Y-%m-%d}" in notice
    assert bot.telegram.sent("editUserStarSubscription") == [
        {"user_id": ANN, "telegram_payment_charge_id": "stxFIRST", "is_canceled": True}
    ]

    bot.telegram.send_command(ADMIN, "/refund stxSECOND")
    await bot.telegram.wait_for(lambda: told(bot, ADMIN, "Refunded 250 Stars") == 2)
    assert near(await paid_until(bot, ANN), start + timedelta(days=10)), "the grant remains"
    assert [r.refunded_by for r in await payment_rows(bot)] == [ADMIN, ADMIN, None]


async def test_a_successful_payment_that_does_not_match_the_plan_is_not_credited(start_bot: Any) -> None:
    """The pre-checkout is not the only gate: the payment update itself must be in Stars, for the plan's price
    and for the payer's own account, or it is recorded uncredited for an admin to refund."""
    bot = await start_bot(stars_monthly_price=PRICE, free_photos=0)
    bad = [
        (ANN, f"plan30:{ANN}", PRICE, "stxUSD", "USD"),
        (ANN, f"plan30:{BOB}", PRICE, "stxBOBS", "XTR"),  # Bob's invoice, paid by Ann
        (ANN, f"plan30:{ANN}", 1, "stxCHEAP", "XTR"),
    ]
    for i, (payer, payload, amount, charge, currency) in enumerate(bad, start=1):
        bot.telegram.successful_payment(payer, payload, amount, charge, is_first_recurring=True, currency=currency)
        await bot.telegram.wait_for(lambda i=i: told(bot, ANN, "could not be applied") == i)  # type: ignore[misc]
        await bot.last_text(ADMIN, lambda t, c=charge: f"/refund {c}" in t)  # type: ignore[misc]
    assert await paid_until(bot, ANN) is None and await paid_until(bot, BOB) is None
    rows = await payment_rows(bot)
    assert [(r.charge_id, r.days) for r in rows] == [("stxUSD", 0), ("stxBOBS", 0), ("stxCHEAP", 0)]

    bot.telegram.successful_payment(ANN, f"plan30:{ANN}", PRICE, "stxGOOD", is_first_recurring=True)
    await bot.last_text(ANN, lambda t: "Thank you" in t)
    bot.telegram.send_command(ADMIN, "/refund stxCHEAP")
    await bot.last_text(ADMIN, lambda t: "Refunded 1 Star to" in t)
    until = await paid_until(bot, ANN)
    assert near(until, datetime.now(UTC) + timedelta(days=30)), "refunding an uncredited payment takes nothing"
