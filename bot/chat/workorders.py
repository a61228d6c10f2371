"""Work orders from Telegram: the Create / Dismiss buttons, automatic filing, the outbox worker job,
``/workorders`` and the admins' ``/outbox``.

The outbox (cmmsconnect) makes filing durable and exactly-once: the key is the card's chat and message id, so a
second press or a redelivered update finds the same row instead of filing twice. The status message is edited
as the outbox reports (created, queued for retry, rejected, dead); after a restart, when the bot no longer
knows which message that was, the report arrives as a new reply to the card.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
from typing import cast

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackContext, ContextTypes

from bot import i18n
from bot.chat import cards, plant, render, replies
from bot.chat.cards import CardTicket
from bot.chat.evidence import work_order_flags
from bot.quality import buttons as quality_buttons
from bot.runtime.services import Services
from cmmsconnect import DeliveryReport, OutboxEntry, Reporter, work_order_from_analysis

log = logging.getLogger(__name__)

CMMS_NAMES = {
    "local": "the built-in work-order list",
    "webhook": "the plant's webhook",
    "maintainx": "MaintainX",
    "atlas": "Atlas CMMS",
    "odoo": "Odoo",
}
OUTBOX_USAGE = "Usage: /outbox – what is not filed yet · /outbox retry ID – try one row again now"
_ICONS = {"pending": "⏳", "created": "📝", "delivered": "✅", "failed": "❌", "dead": "🪦"}


def card_keyboard(token: str, *, offer_work_order: bool, tr: i18n.Translator | None = None) -> InlineKeyboardMarkup:
    """The buttons under a card, labelled in the user's language (English without a translator)."""
    tr = tr or i18n.translator("en")
    rows = []
    if offer_work_order:
        rows.append(
            [
                InlineKeyboardButton(tr.gettext(replies.CREATE_WORK_ORDER), callback_data=f"wo:c:{token}"),
                InlineKeyboardButton(tr.gettext(replies.DISMISS), callback_data=f"wo:d:{token}"),
            ]
        )
    rows.append([InlineKeyboardButton(tr.gettext(replies.RECHECK), callback_data=f"re:{token}")])
    return InlineKeyboardMarkup(rows)


def key_for(chat_id: int, card_message_id: int) -> str:
    return f"tg-{chat_id}-{card_message_id}"


def cmms_name(services: Services) -> str:
    return CMMS_NAMES.get(services.settings.cmms.backend, services.settings.cmms.backend)


def _services(context: CallbackContext) -> Services:  # type: ignore[type-arg]
    return cast(Services, context.application.bot_data["services"])


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    services = _services(context)
    _, action, token = query.data.split(":", 2)
    ticket = await cards.get(services.sessions, token)
    card = query.message if isinstance(query.message, Message) else None
    if ticket is None or ticket.analysis is None or card is None:
        await query.answer("I no longer have that analysis. Please send the photo again.", show_alert=True)
        return
    if not ticket.may_press(update.effective_user.id, is_admin=services.is_admin(update.effective_user.id)):
        await query.answer(render.NOT_YOUR_CARD, show_alert=True)
        return
    if action == "d":
        await query.answer("Dismissed: no work order.")
        await _keep_only_recheck(card, token)
        return
    await query.answer("Filing the work order…")
    user = update.effective_user
    await file_work_order(services, context.bot, ticket, card, Reporter(user.id, user.full_name), token=token)


async def file_work_order(
    services: Services,
    bot: Bot,
    ticket: CardTicket,
    card: Message,
    reporter: Reporter,
    *,
    token: str,
    photo: bytes | None = None,
) -> None:
    assert ticket.analysis is not None
    from bot.quality import reviewing  # here: reviewing files through this module

    if await reviewing.maybe_hold(services, bot, ticket, card, reporter, token=token):  # an admin decides first
        await _keep_only_recheck(card, token)
        return
    if photo is None and ticket.refs:
        try:
            file = await bot.get_file(ticket.refs[0].file_id)
            photo = bytes(await file.download_as_bytearray())
        except TelegramError:
            log.warning("could not fetch the photo for the work order; filing without it", exc_info=True)
    flags = work_order_flags(ticket.provenance)
    if flags["asset"] is None and ticket.analysis_id is not None:  # the photo that enrolled its unit
        unit = await services.pipeline.register.unit_of_analysis(ticket.analysis_id)
        flags["asset"] = unit.asset if unit is not None else None
    fields, question, follow_ups = await plant.in_plant_language(
        services, ticket.analysis.model_dump(mode="json"), ticket.caption, written_in=ticket.language,
        user_id=reporter.id, follow_ups=ticket.follow_ups,
    )  # fmt: skip
    work_order = work_order_from_analysis(
        fields,
        key=key_for(card.chat_id, card.message_id),
        photo=photo,
        reporter=reporter,
        chat_id=card.chat_id,
        message_id=card.message_id,
        question=question,
        labels=plant.labels(services.settings.bot.plant_language),
        follow_ups=follow_ups,
        **flags,
    )
    async with services.sessions.begin() as session:
        entry = await services.outbox.submit(session, work_order)
    if not entry.is_new:
        await card.reply_text(f"This work order was already filed: {_entry_line(services, entry)}")
        return
    status = await card.reply_text(
        f"📝 Filing work order <b>{html.escape(work_order.title)}</b> · priority {work_order.priority} "
        f"in {html.escape(cmms_name(services))}…"
    )
    services.wo_status[work_order.key] = status.message_id
    await _keep_only_recheck(card, token)
    await deliver_soon(services, bot, work_order.key)


async def deliver_soon(services: Services, bot: Bot, key: str) -> None:
    """Deliver in the background: a CMMS that takes 15 s must not hold this chat's next update; the outbox's
    report edits the technician's status message (``services.wo_status[key]``)."""
    if services.application is not None:
        services.application.create_task(_deliver_logged(services, bot), name=f"deliver {key}")
    else:
        await _deliver_logged(services, bot)


async def deliver(services: Services, bot: Bot) -> None:
    """One outbox step; every report updates the technician's status message."""
    for report in await services.outbox.deliver_due():
        await _report(services, bot, report)


async def outbox_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = context.application.bot_data.get("services")
    if services is not None:
        await _deliver_logged(services, context.bot)


async def _deliver_logged(services: Services, bot: Bot) -> None:
    try:
        await deliver(services, bot)
    except Exception:
        log.exception("outbox delivery step failed")


async def _report(services: Services, bot: Bot, report: DeliveryReport) -> None:
    cmms = html.escape(cmms_name(services))
    title = html.escape(report.title)
    if report.status == "created":
        ident = html.escape(report.remote_id or "")
        link = f' — <a href="{html.escape(report.url, quote=True)}">open</a>' if report.url else ""
        text = f"✅ Work order <b>{ident}</b> created in {cmms}: {title}{link}"
    elif report.status == "queued-retry":
        text = f"⏳ Queued: {cmms} is not reachable. <b>{title}</b> will be filed automatically."
    elif report.status == "rejected":
        # The CMMS's own words can hold secrets (a webhook path, database details): admins read them in the log
        # and /outbox; the technician gets a plain sentence.
        log.warning("cmms refused work order %s (outbox row %s): %s", report.key, report.entry_id, report.error)
        text = (
            f"❌ {cmms} did not accept the work order <b>{title}</b>. Your admins can see why in /outbox; "
            "nothing else is needed from you."
        )
    else:
        text = f"❌ Could not file <b>{title}</b> in {cmms} after {report.attempts} attempts; the admins were told."
    if report.chat_id is None:
        return
    message_id = services.wo_status.get(report.key)
    try:
        if message_id is not None:
            await bot.edit_message_text(text, chat_id=report.chat_id, message_id=message_id)
        else:
            await bot.send_message(report.chat_id, text, reply_to_message_id=report.message_id)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("could not update the work-order status for %s: %s", report.key, exc)
    except TelegramError:
        log.warning("could not update the work-order status for %s", report.key, exc_info=True)
    if report.status in {"created", "rejected", "dead"}:
        services.wo_status.pop(report.key, None)


async def _keep_only_recheck(card: Message, token: str) -> None:
    """Drop the work-order buttons; the Re-check button stays as it was (in the user's language)."""
    kept = [
        [button]
        for row in (card.reply_markup.inline_keyboard if card.reply_markup else ())
        for button in row
        if button.callback_data == f"re:{token}"
    ]
    markup = InlineKeyboardMarkup(kept) if kept else card_keyboard(token, offer_work_order=False)
    with contextlib.suppress(BadRequest):
        await card.edit_reply_markup(reply_markup=quality_buttons.with_feedback(markup, token, _chosen(card)))


def _chosen(card: Message) -> str | None:
    """The right/wrong choice already marked on the card, so removing the work-order buttons keeps it."""
    rows = card.reply_markup.inline_keyboard if card.reply_markup is not None else ()
    return next((quality_buttons.chosen(b) for row in rows for b in row if quality_buttons.chosen(b)), None)


def _entry_line(services: Services, entry: OutboxEntry) -> str:
    icon = _ICONS.get(entry.status, "•")
    ident = f" <b>{html.escape(entry.remote_id)}</b>" if entry.remote_id else ""
    when = entry.created_at.strftime("%Y-%m-%d")
    return f"{icon}{ident} {html.escape(entry.title)} ({entry.status}, {when})"


async def my_work_orders(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/workorders: the user's recent work orders."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    entries = await services.outbox.recent_for_reporter(user.id, limit=10)
    from bot.quality import reviewing  # here: reviewing files through this module

    waiting = await reviewing.waiting_lines(services, user.id)  # held for an admin, not in the outbox yet
    if not entries and not waiting:
        await message.reply_text("You have no work orders yet. Tap <b>Create work order</b> under an analysis.")
        return
    lines = [f"<b>Your recent work orders</b> ({html.escape(cmms_name(services))})", *waiting]
    lines += [_entry_line(services, e) for e in entries]
    await message.reply_text("\n".join(lines))


async def outbox_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/outbox (admins, gated by ``admin.admin_only``): pending and dead work orders; ``/outbox retry ID``."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    args = context.args or []
    if args:
        row_id = int(args[1]) if len(args) == 2 and re.fullmatch(r"[0-9]{1,12}", args[1]) else None
        if args[0].lower() != "retry" or row_id is None:
            await message.reply_text(OUTBOX_USAGE)
            return
        entry = await services.outbox.retry(row_id)
        if entry is None:
            await message.reply_text(f"No outbox row {row_id}.\n{OUTBOX_USAGE}")
            return
        await message.reply_text(f"Retrying row {entry.id}: {_entry_line(services, entry)}")
        await deliver(services, context.bot)
        return
    entries = await services.outbox.pending_and_dead()
    if not entries:
        await message.reply_text("The outbox is empty: every work order was filed.")
        return
    lines = [f"<b>Outbox</b> ({html.escape(services.settings.cmms.backend)}): {len(entries)} not filed"]
    for entry in entries[:30]:
        error = f" — {html.escape(entry.last_error[:120])}" if entry.last_error else ""
        lines.append(f"#{entry.id} {_entry_line(services, entry)}, {entry.attempts} attempts{error}")
    lines.append("Send <code>/outbox retry ID</code> to try one again now.")
    await message.reply_text("\n".join(lines))
