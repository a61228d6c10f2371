"""Admin commands: /budget, /cost, /grant, /refund, behind one gate.

The gate answers anyone not in ``ADMIN_USER_IDS`` exactly as an unknown command is answered (the catch-all
"I work with photos" reply, and nothing in a group), so a curious user learns nothing about which admin
commands exist; an admin in a group is asked to use a private chat. Ids are ASCII digits within Telegram's 52
bits; every refusal carries the usage line. Amounts typed
by admins are parsed by ``budget.parse_usd`` (Decimal → integer micro-USD) and garbage gets a clear reply.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from html import escape
from typing import Any, cast

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import i18n
from bot.accounts import budget, payments, reports
from bot.chat import budget_report, costchart, handlers
from bot.i18n import N_
from bot.runtime.services import Services

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]

BUDGET_USAGE = N_(
    "Usage:\n/budget – today's spend against each cap\n/budget daily 5.00 – cap on all cloud spend per UTC day\n"
    "/budget user USER_ID 1.00 – cap for one user per day\n/budget alert 10.00 – alert level\n"
    "Use <code>off</code> instead of an amount for no cap."
)
MAX_GRANT_DAYS = 3650


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return cast(Services, context.application.bot_data["services"])


ASK_IN_PRIVATE = N_("🔒 Admin commands are answered only in a private chat with me: ask me in private.")
# Telegram user ids fit in 52 bits (Bot API: "at most 52 significant bits"); anything else is a typo.
MAX_USER_ID = 2**52 - 1
_ID = re.compile(r"[0-9]{1,16}")  # ASCII only: "²" or "٣" pass str.isdigit() but are not ids for us
_AMOUNT = re.compile(r"-?\$?[0-9]{1,12}(\.[0-9]{1,12})?")  # ASCII; parse_usd judges the value


def admin_only(handler: Handler) -> Handler:
    """Admins only, and only in private: an admin's /budget in a group would show the spend to everyone."""

    @functools.wraps(handler)
    async def gated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, chat = update.effective_user, update.effective_chat
        private = chat is None or chat.type == ChatType.PRIVATE
        if user is None or not _services(context).is_admin(user.id):
            log.info("admin command from non-admin %s answered as unknown", user.id if user else "-")
            if private:  # in a group, an unknown command is not ours to answer
                await handlers.not_a_photo(update, context)
            return
        if not private:
            await _reply(update, (await _services(context).translator(user.id)).gettext(ASK_IN_PRIVATE))
            return
        await handler(update, context)

    return gated


def parse_user_id(text: str) -> int | None:
    """A Telegram user id typed by an admin, or None when it cannot be one."""
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_USER_ID else None


def parse_days(text: str) -> int | None:
    if not re.fullmatch(r"[0-9]{1,4}", text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_GRANT_DAYS else None


async def _reply(update: Update, text: str) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(text)


async def _tr(context: ContextTypes.DEFAULT_TYPE, update: Update) -> i18n.Translator:
    """The admin's own language (admins read the bot in their language like everyone else)."""
    assert update.effective_user is not None
    return await _services(context).translator(update.effective_user.id)


@admin_only
async def budget_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services, args = _services(context), context.args or []
    assert update.effective_user is not None
    tr = await _tr(context, update)
    usage = tr.gettext(BUDGET_USAGE)
    if not args:
        await _reply(update, await budget_text(services, tr))
        return
    target = {("daily", 2): "daily", ("alert", 2): "alert"}.get((args[0].lower(), len(args)))
    if args[0].lower() == "user" and len(args) == 3:
        user_id = parse_user_id(args[1])
        if user_id is None:
            not_an_id = tr.gettext("❌ {value} is not a Telegram user id.", value=escape(args[1]))
            await _reply(update, f"{not_an_id}\n\n{usage}")
            return
        target = budget.user_scope(user_id)
    if target is None:
        await _reply(update, usage)
        return
    try:
        off = args[-1].lower() in {"off", "none"}
        if not off and not _AMOUNT.fullmatch(args[-1]):
            raise budget.BudgetInputError(
                tr.gettext("“{value}” is not an amount in dollars, e.g. 5.00", value=args[-1])
            )
        amount = None if off else budget.parse_usd(args[-1])
    except budget.BudgetInputError as exc:
        await _reply(update, f"❌ {escape(str(exc))}\n\n{usage}")
        return
    async with services.sessions.begin() as session:  # "was": the value in force, stored or the default
        before = budget_report.in_force(await budget.load_caps(session, services.settings.bot), target)
        await budget.set_limit(session, target, amount, by=update.effective_user.id, now=datetime.now(UTC))
        names = await budget_report.names(session, target)
    changed = budget_report.changed(target, amount, before, names, tr)
    await _reply(update, f"{changed}\n\n{await budget_text(services, tr)}")


async def budget_text(services: Services, tr: i18n.Translator | None = None) -> str:
    async with services.sessions() as session:
        return budget_report.report(await budget_report.gather(session, services.settings.bot), tr)


@admin_only
async def cost_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services, args = _services(context), context.args or []
    period = reports.PERIODS.get(args[0].lower() if args else reports.DEFAULT_PERIOD)
    if period is None or len(args) > 1:
        tr = await _tr(context, update)
        await _reply(
            update, tr.gettext("Usage: /cost [today|7d|30d|all] (default {period})", period=reports.DEFAULT_PERIOD)
        )
        return
    now = datetime.now(UTC)
    model = services.settings.bot.cost_baseline_model
    price = services.pipeline.cascade.prices.lookup(model, now.date())
    async with services.sessions() as session:
        report = await reports.build_report(session, period, now, baseline_model=model, baseline=price)
        chart = await costchart.load(session, period, now)
    tr = await _tr(context, update)
    await _reply(update, reports.report_text(report, tr))
    png = await asyncio.to_thread(costchart.render, chart, tr)
    assert update.effective_message is not None
    await update.effective_message.reply_photo(png, caption=costchart.caption(chart, tr))


@admin_only
async def grant_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = context.args or []
    assert update.effective_user is not None
    tr = await _tr(context, update)
    usage = tr.gettext("Usage: /grant USER_ID DAYS (1–{max}), e.g. /grant 123456 30", max=MAX_GRANT_DAYS)
    if len(args) != 2:
        await _reply(update, usage)
        return
    user_id, days = parse_user_id(args[0]), parse_days(args[1])
    if user_id is None or days is None:
        wrong = (
            tr.gettext("{value} is not a Telegram user id", value=escape(args[0]))
            if user_id is None
            else tr.gettext("{value} days", value=escape(args[1]))
        )
        await _reply(update, f"❌ {wrong}.\n{usage}")
        return
    until = await payments.grant(_services(context), user_id=user_id, days=days, by=update.effective_user.id)
    done = tr.gettext(
        "✅ User {user} has unlimited photos until {when} UTC.", user=user_id, when=f"{until:%Y-%m-%d %H:%M}"
    )
    await _reply(update, done)
    theirs = await _services(context).translator(user_id)  # the user reads it in their own language
    try:
        await context.bot.send_message(
            user_id, theirs.gettext("⭐ An admin gave you unlimited photos until {date}.", date=f"{until:%Y-%m-%d}")
        )
    except TelegramError:
        log.info("could not tell user %s about the grant", user_id)


@admin_only
async def refund_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = context.args or []
    assert update.effective_user is not None
    tr = await _tr(context, update)
    if len(args) != 1:
        await _reply(update, tr.gettext("Usage: /refund CHARGE_ID (the telegram_payment_charge_id of the payment)"))
        return
    try:
        result = await payments.refund(context.bot, _services(context), charge_id=args[0], by=update.effective_user.id)
    except TelegramError as exc:
        result = tr.gettext("Telegram refused the refund: {reason}", reason=exc.message)
    await _reply(update, escape(result))


COMMANDS: dict[str, Handler] = {
    "budget": budget_command,
    "cost": cost_command,
    "grant": grant_command,
    "refund": refund_command,
}
