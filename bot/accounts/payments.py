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

import html
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.chat import render
from bot.i18n import N_, Translator
from bot.runtime.models import Payment, User
from bot.runtime.services import Services
from pipeline.models import upsert_insert

log = logging.getLogger(__name__)

CURRENCY = "XTR"
PLAN_DAYS = 30
SUBSCRIPTION_PERIOD_S = 2_592_000  # Telegram: the only period it accepts, 30 days
PAYLOAD_PREFIX = "plan30"

# Why a payment is refused: English here and in the log, translated where the payer (or an admin) reads it.
STARS_ONLY = N_("This plan is paid in Telegram Stars only.")
NOT_YOURS = N_("This invoice is not for your account. Please send /upgrade for a new one.")
PRICE_CHANGED = N_("The price has changed since this invoice was made. Please send /upgrade for a new one.")
NO_SUCH_PAYMENT = N_("No Stars payment with that charge id.")
REFUNDED_ALREADY = N_("That payment was refunded already.")
NOT_CREDITED = N_("⚠️ A payment of user {user} was not credited: {problem} Refund it with <code>/refund {charge}</code>")


def payload_for(user_id: int) -> str:
    return f"{PAYLOAD_PREFIX}:{user_id}"


def pre_checkout_problem(*, payload: str, currency: str, total_amount: int, user_id: int, price: int) -> str | None:
    """Why a pre-checkout must be refused (an English sentence for the user, to translate), or None. Pure."""
    if currency != CURRENCY:
        return STARS_ONLY
    if payload != payload_for(user_id):
        return NOT_YOURS
    if total_amount != price:
        return PRICE_CHANGED
    return None


def extended(paid_until: datetime | None, now: datetime, days: int) -> datetime:
    """A payment or grant adds ``days`` to what is left of the paid period, or starts one now. Pure."""
    start = paid_until if paid_until is not None and paid_until > now else now
    return start + timedelta(days=days)


def payment_problem(
    *, payload: str, currency: str, total_amount: int, user_id: int, price: int, renewal_prices: set[int]
) -> str | None:
    """Why a ``successful_payment`` must not be credited, or None. Pure.

    The same checks as the pre-checkout, on the payment itself: the update is what credits the account, so it is
    checked even though Telegram only sends it after a pre-checkout we accepted. A renewal is charged what the
    subscription cost when it was made, so a renewal may also carry a price this user paid before.
    """
    problem = pre_checkout_problem(
        payload=payload, currency=currency, total_amount=total_amount, user_id=user_id, price=price
    )
    if problem is not None and currency == CURRENCY and payload == payload_for(user_id):
        return None if total_amount in renewal_prices else problem
    return problem


def refunded_until(
    paid_until: datetime, now: datetime, *, period_end: datetime, days: int
) -> tuple[datetime, timedelta]:
    """The user's ``paid_until`` after refunding one payment, and the time taken off. Pure.

    The payment paid for ``[period_end - days, period_end)``. What is taken back is the part of that period
    still ahead; days already used stay used, and what came after it (a renewal paid in advance, an admin grant)
    moves earlier by the same amount instead of being lost.
    """
    start = period_end - timedelta(days=days)
    unused = max(timedelta(0), period_end - max(start, now))
    return paid_until - unused, unused


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
    if days:  # an uncredited payment (days=0) is recorded for a refund, and changes no plan
        user.paid_until = extended(user.paid_until, now, days)
    period_end = user.paid_until if days and user.paid_until is not None else now
    await session.execute(update(Payment).where(Payment.id == payment_id).values(paid_until=period_end))
    return period_end


async def _locked_user(session: AsyncSession, user_id: int) -> User:
    """The user's row, locked until the transaction ends (PostgreSQL; SQLite's write lock is already held)."""
    query = select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query)).one()


async def paysupport(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    assert update.effective_user is not None
    tr = await _services(context).translator(update.effective_user.id)
    await update.effective_message.reply_text(tr.gettext(render.PAYSUPPORT))


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
        tr = await _services(context).translator(query.from_user.id)
        await query.answer(ok=False, error_message=tr.gettext(problem))
    else:
        await query.answer(ok=True)


async def on_successful_payment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.successful_payment is not None
    paid = message.successful_payment
    services = _services(context)
    async with services.sessions.begin() as session:
        earlier = await session.scalars(
            select(Payment.total_amount).where(
                Payment.user_id == user.id, Payment.kind == "stars", Payment.days > 0, Payment.refunded_at.is_(None)
            )
        )
        renewal = bool(paid.is_recurring and not paid.is_first_recurring)
        problem = payment_problem(
            payload=paid.invoice_payload,
            currency=paid.currency,
            total_amount=paid.total_amount,
            user_id=user.id,
            price=services.settings.bot.stars_monthly_price,
            renewal_prices=set(earlier) if renewal else set(),
        )
        until = await record_payment(
            session,
            user_id=user.id,
            charge_id=paid.telegram_payment_charge_id,
            kind="stars",
            days=PLAN_DAYS if problem is None else 0,  # kept (refundable with /refund), never credited
            now=datetime.now(UTC),
            total_amount=paid.total_amount,
            payload=paid.invoice_payload,
            is_recurring=bool(paid.is_recurring),
        )
    if until is None:
        log.info("payment %s was credited already (redelivered update)", paid.telegram_payment_charge_id)
        return
    if problem is not None:
        log.error("payment %s of user %s not credited: %s", paid.telegram_payment_charge_id, user.id, problem)
        charge = paid.telegram_payment_charge_id
        await services.notify_admins(lambda tr: _not_credited_for_admins(user.id, charge, problem, tr))
        tr = await services.translator(user.id)
        await message.reply_text(render.payment_not_credited(tr.gettext(problem), tr))
        return
    log.info("user %s paid %d %s, paid until %s", user.id, paid.total_amount, paid.currency, until)
    tr = await services.translator(user.id)
    await message.reply_text(render.thanks(until, tr, renewal=renewal))


async def grant(services: Services, *, user_id: int, days: int, by: int) -> datetime:
    async with services.sessions.begin() as session:
        until = await record_payment(
            session, user_id=user_id, charge_id=f"grant:{uuid.uuid4()}", kind="grant", days=days,
            now=datetime.now(UTC), granted_by=by,
        )  # fmt: skip
    assert until is not None
    return until


async def refund(bot: Bot, services: Services, *, charge_id: str, by: int) -> str:
    """Refund the Stars of one payment, take back what is left of the period it paid for, and cancel the
    subscription so Telegram does not charge again; returns what happened, for the admin (in their language)."""
    tr = await services.translator(by)
    async with services.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.charge_id == charge_id))
    if payment is None or payment.kind != "stars":
        return tr.gettext(NO_SUCH_PAYMENT)
    if payment.refunded_at is not None:
        return tr.gettext(REFUNDED_ALREADY)
    await bot.refund_star_payment(payment.user_id, charge_id)  # raises on Telegram's refusal: nothing changes
    now = datetime.now(UTC)
    async with services.sessions.begin() as session:
        until, unused = await _take_back(session, payment.id, now=now, by=by)
    log.info("payment %s of user %s refunded by %s (%s taken off)", charge_id, payment.user_id, by, unused)
    cancelled = await _cancel_subscription(bot, payment.user_id, charge_id)
    try:
        user_tr = await services.translator(payment.user_id)
        await bot.send_message(payment.user_id, render.refunded(until if until > now else None, user_tr))
    except Exception:
        log.warning("could not tell user %s about the refund", payment.user_id, exc_info=True)
    return refund_report(payment.total_amount, payment.user_id, unused, until if until > now else None,
                         cancelled=cancelled, tr=tr)  # fmt: skip


def refund_report(
    stars: int, user_id: int, unused: timedelta, until: datetime | None, *, cancelled: bool, tr: Translator
) -> str:
    """For the admin who refunded, in their language (plain text; the admin command escapes it). Pure."""
    days = round(unused / timedelta(days=1))
    if days:
        taken = tr.ngettext("{n} day taken off", "{n} days taken off", days, n=days)
    else:
        taken = tr.gettext("less than a day taken off") if unused else tr.gettext("no unused days taken off")
    if until is not None:
        plan = tr.gettext("paid until {date}", date=f"{until:%Y-%m-%d}")
    else:
        plan = tr.gettext("their paid period has ended")
    renewals = (
        tr.gettext("subscription cancelled")
        if cancelled
        else tr.gettext("the subscription could NOT be cancelled (see the log)")
    )
    return tr.ngettext(
        "Refunded {n} Star to user {user}; {taken}, {plan}; {renewals}.",
        "Refunded {n} Stars to user {user}; {taken}, {plan}; {renewals}.",
        stars, n=stars, user=user_id, taken=taken, plan=plan, renewals=renewals,
    )  # fmt: skip


def _not_credited_for_admins(user_id: int, charge_id: str, problem: str, tr: Translator) -> str:
    """The admin alert for a payment kept uncredited, in the admin's language (``problem`` is English)."""
    return tr.gettext(
        NOT_CREDITED, user=user_id, problem=html.escape(tr.gettext(problem)), charge=html.escape(charge_id)
    )


async def _take_back(session: AsyncSession, payment_id: int, *, now: datetime, by: int) -> tuple[datetime, timedelta]:
    """Mark the payment refunded and remove its unused days from the user's plan (see ``refunded_until``)."""
    payment = (await session.scalars(select(Payment).where(Payment.id == payment_id).with_for_update())).one()
    user = await _locked_user(session, payment.user_id)
    payment.refunded_at, payment.refunded_by = now, by
    current = user.paid_until or now
    until, unused = refunded_until(current, now, period_end=payment.paid_until, days=payment.days)
    user.paid_until = until
    if unused:  # later payments' periods move earlier with the plan, so refunding one of them later stays exact
        later = await session.scalars(
            select(Payment).where(Payment.user_id == payment.user_id, Payment.paid_until > payment.paid_until)
        )
        for row in later:
            row.paid_until -= unused
    return until, unused


async def _cancel_subscription(bot: Bot, user_id: int, charge_id: str) -> bool:
    """Stop the renewals of the subscription this payment belongs to (Bot API editUserStarSubscription)."""
    try:
        await bot.edit_user_star_subscription(user_id, charge_id, is_canceled=True)
    except TelegramError as exc:
        log.warning("could not cancel the subscription of payment %s: %s", charge_id, exc.message)
        return False
    return True
