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

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import budget, budget_report, costchart, handlers, payments, reports
from bot.services import Services

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
    async with services.sessions.begin() as session:  # "was": the value in force, stored or the default
        before = budget_report.in_force(await budget.load_caps(session, services.settings.bot), target)
        await budget.set_limit(session, target, amount, by=update.effective_user.id, now=datetime.now(UTC))
        names = await budget_report.names(session, target)
    await _reply(update, f"{budget_report.changed(target, amount, before, names)}\n\n{await budget_text(services)}")


async def budget_text(services: Services) -> str:
    async with services.sessions() as session:
        return budget_report.report(await budget_report.gather(session, services.settings.bot))


@admin_only
async def cost_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services, args = _services(context), context.args or []
    period = reports.PERIODS.get(args[0].lower() if args else reports.DEFAULT_PERIOD)
    if period is None or len(args) > 1:
        await _reply(update, f"Usage: /cost [today|7d|30d|all] (default {reports.DEFAULT_PERIOD})")
        return
    now = datetime.now(UTC)
    model = services.settings.bot.cost_baseline_model
    price = services.pipeline.cascade.prices.lookup(model, now.date())
    async with services.sessions() as session:
        report = await reports.build_report(session, period, now, baseline_model=model, baseline=price)
        chart = await costchart.load(session, period, now)
    await _reply(update, reports.report_text(report))
    png = await asyncio.to_thread(costchart.render, chart)
    assert update.effective_message is not None
    await update.effective_message.reply_photo(png, caption=costchart.caption(chart))


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
