"""Admin commands: /budget, /cost, /grant, /refund, behind one gate.

The gate answers anyone not in ``ADMIN_USER_IDS`` exactly as an unknown command is answered (the catch-all
"I work with photos" reply), so a curious user learns nothing about which admin commands exist. Amounts typed
by admins are parsed by ``budget.parse_usd`` (Decimal → integer micro-USD) and garbage gets a clear reply.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from html import escape
from typing import Any, cast

from sqlalchemy import func, select
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import budget, handlers, payments, reports
from bot.models import User
from bot.services import Services
from pipeline import format_usd
from pipeline.models import ModelCall

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]

BUDGET_USAGE = (
    "Usage:\n/budget – today's spend against each cap\n/budget daily 5.00 – cap on all cloud spend per UTC day\n"
    "/budget user USER_ID 1.00 – cap for one user per day\n/budget alert 10.00 – alert level\n"
    "Use <code>off</code> instead of an amount for no cap."
)
MAX_GRANT_DAYS = 3650


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return cast(Services, context.application.bot_data["services"])


def admin_only(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def gated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is None or not _services(context).is_admin(user.id):
            log.info("admin command from non-admin %s answered as unknown", user.id if user else "-")
            await handlers.not_a_photo(update, context)
            return
        await handler(update, context)

    return gated


async def _reply(update: Update, text: str) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(text)


@admin_only
async def budget_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services, args = _services(context), context.args or []
    assert update.effective_user is not None
    if not args:
        await _reply(update, await budget_text(services))
        return
    target = {("daily", 2): "daily", ("alert", 2): "alert"}.get((args[0].lower(), len(args)))
    if args[0].lower() == "user" and len(args) == 3:
        if not args[1].isdigit():
            await _reply(update, "The user id is a number, e.g. /budget user 123456 1.00")
            return
        target = budget.user_scope(int(args[1]))
    if target is None:
        await _reply(update, BUDGET_USAGE)
        return
    try:
        amount = None if args[-1].lower() in {"off", "none"} else budget.parse_usd(args[-1])
    except budget.BudgetInputError as exc:
        await _reply(update, f"❌ {escape(str(exc))}\n\n{BUDGET_USAGE}")
        return
    async with services.sessions.begin() as session:
        old = await budget.set_limit(session, target, amount, by=update.effective_user.id, now=datetime.now(UTC))
    shown = "no cap" if amount is None else format_usd(amount)
    before = "no cap" if old is None else format_usd(old)
    await _reply(update, f"✅ {escape(target)}: {shown} (was {before}, stored).\n\n{await budget_text(services)}")


async def budget_text(services: Services) -> str:
    today = datetime.now(UTC).date()
    start, end = budget.day_bounds(today)
    async with services.sessions() as session:
        caps = await budget.load_caps(session, services.settings.bot)
        spent = await budget.ledger_spend(session, today)
        counted = (await budget.counters(session, today)).get(budget.GLOBAL, spent)
        by_provider = (
            await session.execute(
                select(ModelCall.provider, func.sum(ModelCall.cost_micro_usd))
                .where(ModelCall.created_at >= start, ModelCall.created_at < end, ModelCall.provider != "cache")
                .group_by(ModelCall.provider)
                .order_by(func.sum(ModelCall.cost_micro_usd).desc())
            )
        ).all()
        capped = sorted(caps.users)
        names = dict((await session.execute(select(User.id, User.first_name).where(User.id.in_(capped)))).all())
        user_spend = {uid: await budget.ledger_spend(session, today, uid) for uid in capped}

    def cap_line(label: str, cap: int | None, value: int) -> str:
        if cap is None:
            return f"{label}: no cap"
        percent = f" ({value * 100 // cap} %)" if cap else ""
        return f"{label}: {format_usd(value)} of {format_usd(cap)}{percent}"

    lines = [
        f"<b>💸 Budget, {today.isoformat()} (UTC)</b>",
        f"Spent today: <b>{format_usd(spent)}</b> · counted against the cap, with calls in flight: "
        f"{format_usd(max(spent, counted))}",
        cap_line("Daily cap", caps.daily, max(spent, counted)),
        cap_line("Alert level", caps.alert, spent),
        "Per-user default cap: " + ("none" if caps.user_default is None else format_usd(caps.user_default)),
        "\n<b>By provider</b>",
        *(f"• {escape(str(p))}: {format_usd(int(v))}" for p, v in by_provider),
    ]
    if not by_provider:
        lines.append("• no cloud spend yet")
    if capped:
        lines.append("\n<b>Per-user caps</b>")
        lines.extend(
            cap_line(f"• {escape(names.get(uid) or '?')} ({uid})", caps.users[uid], user_spend[uid]) for uid in capped
        )
    return "\n".join(lines)


@admin_only
async def cost_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services, args = _services(context), context.args or []
    period = reports.PERIODS.get(args[0].lower() if args else "today")
    if period is None or len(args) > 1:
        await _reply(update, "Usage: /cost [today|7d|30d|all]")
        return
    now = datetime.now(UTC)
    model = services.settings.bot.cost_baseline_model
    price = services.pipeline.cascade.prices.lookup(model, now.date())
    async with services.sessions() as session:
        report = await reports.build_report(session, period, now, baseline_model=model, baseline=price)
    await _reply(update, reports.report_text(report))
    png = await asyncio.to_thread(reports.chart_png, report.daily, "Daily cloud spend by provider (USD)")
    assert update.effective_message is not None
    await update.effective_message.reply_photo(png, caption=f"Daily spend by provider, {period}")


@admin_only
async def grant_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = context.args or []
    assert update.effective_user is not None
    if len(args) != 2 or not args[0].isdigit() or not args[1].isdigit() or not 0 < int(args[1]) <= MAX_GRANT_DAYS:
        await _reply(update, f"Usage: /grant USER_ID DAYS (1–{MAX_GRANT_DAYS}), e.g. /grant 123456 30")
        return
    user_id, days = int(args[0]), int(args[1])
    until = await payments.grant(_services(context), user_id=user_id, days=days, by=update.effective_user.id)
    await _reply(update, f"✅ User {user_id} has unlimited photos until {until:%Y-%m-%d %H:%M} UTC.")
    try:
        await context.bot.send_message(user_id, f"⭐ An admin gave you unlimited photos until {until:%Y-%m-%d}.")
    except TelegramError:
        log.info("could not tell user %s about the grant", user_id)


@admin_only
async def refund_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = context.args or []
    assert update.effective_user is not None
    if len(args) != 1:
        await _reply(update, "Usage: /refund CHARGE_ID (the telegram_payment_charge_id of the payment)")
        return
    try:
        result = await payments.refund(context.bot, _services(context), charge_id=args[0], by=update.effective_user.id)
    except TelegramError as exc:
        result = f"Telegram refused the refund: {exc.message}"
    await _reply(update, escape(result))


COMMANDS: dict[str, Handler] = {
    "budget": budget_command,
    "cost": cost_command,
    "grant": grant_command,
    "refund": refund_command,
}
