"""Telegram Stars: the 30-day subscription, pre-checkout, successful payment, refund and admin grants.

Telegram requires digital goods to be paid in Stars: currency ``XTR``, an empty provider token, exactly one
price. Only ``createInvoiceLink`` takes ``subscription_period`` (``sendInvoice`` cannot make a subscription),
so /upgrade and the "free photos used up" message carry a button with that link; renewals then arrive every
30 days as further ``successful_payment`` updates with ``is_recurring``.

Crediting is idempotent: the payment row is inserted first, keyed by Telegram's unique charge id, and the user's
``paid_until`` is extended only when that insert created the row, in the same transaction. A redelivered update
(or two copies processed at once) finds the row and credits nothing. The pre-checkout query must be answered
within 10 s, so its check is pure and fast.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Update
from telegram.ext import ContextTypes

from bot import render
from bot.models import Payment, User
from bot.services import Services
from pipeline.models import upsert_insert

log = logging.getLogger(__name__)

CURRENCY = "XTR"
PLAN_DAYS = 30
SUBSCRIPTION_PERIOD_S = 2_592_000  # Telegram: the only period it accepts, 30 days
PAYLOAD_PREFIX = "plan30"


def payload_for(user_id: int) -> str:
    return f"{PAYLOAD_PREFIX}:{user_id}"


def pre_checkout_problem(*, payload: str, currency: str, total_amount: int, user_id: int, price: int) -> str | None:
    """Why a pre-checkout must be refused (a sentence for the user), or None to accept. Pure."""
    if currency != CURRENCY:
        return "This plan is paid in Telegram Stars only."
    if payload != payload_for(user_id):
        return "This invoice is not for your account. Please send /upgrade for a new one."
    if total_amount != price:
        return "The price has changed since this invoice was made. Please send /upgrade for a new one."
    return None


def extended(paid_until: datetime | None, now: datetime, days: int) -> datetime:
    """A payment or grant adds ``days`` to what is left of the paid period, or starts one now. Pure."""
    start = paid_until if paid_until is not None and paid_until > now else now
    return start + timedelta(days=days)


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return cast(Services, context.application.bot_data["services"])


async def upgrade_markup(bot: Bot, services: Services, user_id: int) -> InlineKeyboardMarkup:
    price = services.settings.bot.stars_monthly_price
    link = await bot.create_invoice_link(
        title="PLC Copilot unlimited",
        description=f"Unlimited photo analyses for {PLAN_DAYS} days, renewed monthly until you cancel.",
        payload=payload_for(user_id),
        currency=CURRENCY,
        prices=[LabeledPrice(f"{PLAN_DAYS} days unlimited", price)],
        # Stars need an empty provider token. Omitted rather than "": this PTB 22.8 stack was observed sending
        # provider_token="" as "[]" on the wire; the field is optional since Bot API 7.4.
        provider_token=None,
        subscription_period=SUBSCRIPTION_PERIOD_S,
    )
    button = InlineKeyboardButton(f"⭐ Unlimited: {price} Stars / {PLAN_DAYS} days", url=link)
    return InlineKeyboardMarkup([[button]])


async def record_payment(
    session: AsyncSession,
    *,
    user_id: int,
    charge_id: str,
    kind: str,
    days: int,
    now: datetime,
    total_amount: int = 0,
    payload: str = "",
    is_recurring: bool = False,
    granted_by: int | None = None,
) -> datetime | None:
    """Store the payment and extend the user's plan; None when this charge was credited already.

    Whether the row was created is read from ``RETURNING``: psycopg 3 reports rowcount −1 for ON CONFLICT DO
    NOTHING (SQLAlchemy issue 10696), which made every payment look like a redelivery. The user's row is then
    read ``FOR UPDATE``: two renewals (or a renewal and a grant) committing together would otherwise both
    extend the same old ``paid_until`` and one of the 30 days would be lost.
    """
    insert = upsert_insert(session)
    values = {
        "charge_id": charge_id, "kind": kind, "user_id": user_id, "currency": CURRENCY, "total_amount": total_amount,
        "days": days, "payload": payload[:128], "is_recurring": is_recurring, "paid_until": now,
        "granted_by": granted_by, "created_at": now,
    }  # fmt: skip
    created = await session.execute(
        insert(Payment).values(**values).on_conflict_do_nothing(index_elements=["charge_id"]).returning(Payment.id)
    )
    payment_id = created.scalar_one_or_none()
    if payment_id is None:
        return None
    await session.execute(
        insert(User).values(id=user_id, first_seen_at=now, last_seen_at=now, free_used=0).on_conflict_do_nothing()
    )
    user = await _locked_user(session, user_id)
    user.paid_until = extended(user.paid_until, now, days)
    await session.execute(update(Payment).where(Payment.id == payment_id).values(paid_until=user.paid_until))
    return user.paid_until


async def _locked_user(session: AsyncSession, user_id: int) -> User:
    """The user's row, locked until the transaction ends (PostgreSQL; SQLite's write lock is already held)."""
    query = select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query)).one()


async def paysupport(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(render.PAYSUPPORT)


async def on_pre_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.pre_checkout_query
    assert query is not None
    problem = pre_checkout_problem(
        payload=query.invoice_payload,
        currency=query.currency,
        total_amount=query.total_amount,
        user_id=query.from_user.id,
        price=_services(context).settings.bot.stars_monthly_price,
    )
    if problem is not None:
        log.warning("pre-checkout %s refused: %s", query.id, problem)
        await query.answer(ok=False, error_message=problem)
    else:
        await query.answer(ok=True)


async def on_successful_payment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.successful_payment is not None
    paid = message.successful_payment
    services = _services(context)
    async with services.sessions.begin() as session:
        until = await record_payment(
            session,
            user_id=user.id,
            charge_id=paid.telegram_payment_charge_id,
            kind="stars",
            days=PLAN_DAYS,
            now=datetime.now(UTC),
            total_amount=paid.total_amount,
            payload=paid.invoice_payload,
            is_recurring=bool(paid.is_recurring),
        )
    if until is None:
        log.info("payment %s was credited already (redelivered update)", paid.telegram_payment_charge_id)
        return
    log.info("user %s paid %d %s, paid until %s", user.id, paid.total_amount, paid.currency, until)
    await message.reply_text(render.thanks(until, renewal=bool(paid.is_recurring and not paid.is_first_recurring)))


async def grant(services: Services, *, user_id: int, days: int, by: int) -> datetime:
    async with services.sessions.begin() as session:
        until = await record_payment(
            session, user_id=user_id, charge_id=f"grant:{uuid.uuid4()}", kind="grant", days=days,
            now=datetime.now(UTC), granted_by=by,
        )  # fmt: skip
    assert until is not None
    return until


async def refund(bot: Bot, services: Services, *, charge_id: str, by: int) -> str:
    """Refund the Stars of one payment and end the user's paid period; returns what happened, for the admin."""
    async with services.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.charge_id == charge_id))
    if payment is None or payment.kind != "stars":
        return "No Stars payment with that charge id."
    if payment.refunded_at is not None:
        return "That payment was refunded already."
    await bot.refund_star_payment(payment.user_id, charge_id)  # raises on Telegram's refusal: nothing changes
    now = datetime.now(UTC)
    async with services.sessions.begin() as session:
        row = await session.get(Payment, payment.id)
        user = await session.get(User, payment.user_id)
        assert row is not None
        row.refunded_at, row.refunded_by = now, by
        if user is not None:
            user.paid_until = now
    log.info("payment %s of user %s refunded by %s", charge_id, payment.user_id, by)
    try:
        await bot.send_message(payment.user_id, render.REFUNDED)
    except Exception:
        log.warning("could not tell user %s about the refund", payment.user_id, exc_info=True)
    return f"Refunded {payment.total_amount} Stars to user {payment.user_id}; their paid period has ended."
