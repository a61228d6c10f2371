"""Work orders from Telegram: the Create / Dismiss buttons, automatic filing, the outbox worker job,
``/workorders`` and the admins' ``/outbox``.

The outbox (cmmsconnect) makes filing durable and exactly-once: the key is the card's chat and message id, so a
second press or a redelivered update finds the same row instead of filing twice. The status message is edited
as the outbox reports (created, queued for retry, rejected, dead); after a restart, when the bot no longer
knows which message that was, the report arrives as a new reply to the card.

Everything is written in the reader's language: the technician's (the reporter of the work order) for the
status and /workorders, the admin's for /outbox.
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
from bot.i18n import N_
from bot.quality import buttons as quality_buttons
from bot.runtime.services import Services
from cmmsconnect import DeliveryReport, OutboxEntry, Reporter, work_order_from_analysis

log = logging.getLogger(__name__)

# Where work orders go, as the sentences below name it ({cmms}). The two descriptions are translated; a language
# with cases or contractions words its sentences so {cmms} always takes one form (the German ones: the dative).
CMMS_DESCRIBED = {"local": N_("the built-in work-order list"), "webhook": N_("the plant's webhook")}
CMMS_PRODUCTS = {"maintainx": "MaintainX", "atlas": "Atlas CMMS", "odoo": "Odoo"}  # product names: never translated
OUTBOX_USAGE = N_("Usage: /outbox – what is not filed yet · /outbox retry ID – try one row again now")
_ICONS = {"pending": "⏳", "created": "📝", "delivered": "✅", "failed": "❌", "dead": "🪦"}
_STATUS = {  # models.OutboxStatus, as /workorders and /outbox show it
    "pending": N_("pending"),
    "created": N_("created"),
    "delivered": N_("delivered"),
    "failed": N_("failed"),
    "dead": N_("dead"),
}
PRIORITY = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High"), "urgent": N_("🚨 Urgent")}  # as on the card

GONE = N_("I no longer have that analysis. Please send the photo again.")
DISMISSED = N_("Dismissed: no work order.")
FILING = N_("Filing the work order…")
ALREADY_FILED = N_("This work order was already filed: {entry}")
FILING_STATUS = N_("📝 Filing work order <b>{title}</b> in {cmms}… (priority: {priority})")
CREATED = N_("✅ Work order <b>{id}</b> created in {cmms}: {title}")
OPEN_LINK = N_("open")
QUEUED = N_("⏳ Queued: {cmms} is not reachable. <b>{title}</b> will be filed automatically.")
REJECTED = N_(
    "❌ {cmms} did not accept the work order <b>{title}</b>. Your admins can see why in /outbox; nothing else is "
    "needed from you."
)
NONE_YET = N_("You have no work orders yet. Tap <b>{button}</b> under an analysis.")
RECENT = N_("<b>Your recent work orders</b> (in {cmms})")
NO_ROW = N_("No outbox row {id}.")
RETRYING = N_("Retrying row {id}: {entry}")
OUTBOX_EMPTY = N_("The outbox is empty: every work order was filed.")
OUTBOX_HEAD = N_("<b>Outbox</b> ({backend}): {n} not filed")
RETRY_HINT = N_("Send <code>/outbox retry ID</code> to try one again now.")


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


def cmms_name(backend: str, tr: i18n.Translator) -> str:
    """Where work orders go (CMMS_BACKEND), HTML-escaped, for the sentences above."""
    if backend in CMMS_DESCRIBED:
        return html.escape(tr.gettext(CMMS_DESCRIBED[backend]))
    return html.escape(CMMS_PRODUCTS.get(backend, backend))


def priority_name(priority: str, tr: i18n.Translator) -> str:
    return tr.gettext(PRIORITY[priority]) if priority in PRIORITY else html.escape(priority)


def _services(context: CallbackContext) -> Services:  # type: ignore[type-arg]
    return cast(Services, context.application.bot_data["services"])


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    services = _services(context)
    _, action, token = query.data.split(":", 2)
    ticket = await cards.get(services.sessions, token)
    card = query.message if isinstance(query.message, Message) else None
    tr = await services.translator(update.effective_user.id)
    if ticket is None or ticket.analysis is None or card is None:
        await query.answer(tr.gettext(GONE), show_alert=True)
        return
    if not ticket.may_press(update.effective_user.id, is_admin=services.is_admin(update.effective_user.id)):
        await query.answer(tr.gettext(render.NOT_YOUR_CARD), show_alert=True)
        return
    if action == "d":
        await query.answer(tr.gettext(DISMISSED))
        await _keep_only_recheck(card, token)
        return
    await query.answer(tr.gettext(FILING))
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
    tr = await services.translator(reporter.id)
    if not entry.is_new:
        await card.reply_text(tr.gettext(ALREADY_FILED, entry=entry_line(entry, tr)))
        return
    filing = tr.gettext(
        FILING_STATUS, title=html.escape(work_order.title), priority=priority_name(work_order.priority, tr),
        cmms=cmms_name(services.settings.cmms.backend, tr),
    )  # fmt: skip
    status = await card.reply_text(filing)
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


def report_text(report: DeliveryReport, cmms: str, tr: i18n.Translator) -> str:
    """Pure: what the technician reads about one delivery step (``cmms`` as ``cmms_name`` gives it)."""
    title = html.escape(report.title)
    if report.status == "created":
        text = tr.gettext(CREATED, id=html.escape(report.remote_id or ""), cmms=cmms, title=title)
        if report.url:
            text += f' — <a href="{html.escape(report.url, quote=True)}">{tr.gettext(OPEN_LINK)}</a>'
        return text
    if report.status == "queued-retry":
        return tr.gettext(QUEUED, cmms=cmms, title=title)
    if report.status == "rejected":
        return tr.gettext(REJECTED, cmms=cmms, title=title)
    return tr.ngettext(
        "❌ Could not file <b>{title}</b> in {cmms} after {n} attempt; the admins were told.",
        "❌ Could not file <b>{title}</b> in {cmms} after {n} attempts; the admins were told.",
        report.attempts, title=title, cmms=cmms, n=report.attempts,
    )  # fmt: skip


async def _report(services: Services, bot: Bot, report: DeliveryReport) -> None:
    if report.status == "rejected":
        # The CMMS's own words can hold secrets (a webhook path, database details): admins read them in the log
        # and /outbox; the technician gets a plain sentence.
        log.warning("cmms refused work order %s (outbox row %s): %s", report.key, report.entry_id, report.error)
    if report.chat_id is None:
        return
    tr = await services.translator(report.reporter_id)  # the technician who asked for it
    text = report_text(report, cmms_name(services.settings.cmms.backend, tr), tr)
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


def entry_line(entry: OutboxEntry, tr: i18n.Translator) -> str:
    """HTML: one work order as /workorders and /outbox list it."""
    icon = _ICONS.get(entry.status, "•")
    ident = f" <b>{html.escape(entry.remote_id)}</b>" if entry.remote_id else ""
    when = entry.created_at.strftime("%Y-%m-%d")
    status = tr.gettext(_STATUS[entry.status]) if entry.status in _STATUS else html.escape(entry.status)
    return f"{icon}{ident} {html.escape(entry.title)} ({status}, {when})"


async def my_work_orders(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/workorders: the user's recent work orders."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    tr = await services.translator(user.id)
    entries = await services.outbox.recent_for_reporter(user.id, limit=10)
    from bot.quality import reviewing  # here: reviewing files through this module

    waiting = await reviewing.waiting_lines(services, user.id)  # held for an admin, not in the outbox yet
    await message.reply_text(recent_text(entries, waiting, cmms_name(services.settings.cmms.backend, tr), tr))


def recent_text(entries: list[OutboxEntry], waiting: list[str], cmms: str, tr: i18n.Translator) -> str:
    """Pure: /workorders, the ones waiting for an admin first."""
    if not entries and not waiting:
        return tr.gettext(NONE_YET, button=tr.gettext(replies.CREATE_WORK_ORDER))
    return "\n".join([tr.gettext(RECENT, cmms=cmms), *waiting, *(entry_line(e, tr) for e in entries)])


async def outbox_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/outbox (admins, gated by ``admin.admin_only``): pending and dead work orders; ``/outbox retry ID``."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    tr = await services.translator(user.id)
    usage = tr.gettext(OUTBOX_USAGE)
    args = context.args or []
    if args:
        row_id = int(args[1]) if len(args) == 2 and re.fullmatch(r"[0-9]{1,12}", args[1]) else None
        if args[0].lower() != "retry" or row_id is None:
            await message.reply_text(usage)
            return
        entry = await services.outbox.retry(row_id)
        if entry is None:
            await message.reply_text(f"{tr.gettext(NO_ROW, id=row_id)}\n{usage}")
            return
        await message.reply_text(tr.gettext(RETRYING, id=entry.id, entry=entry_line(entry, tr)))
        await deliver(services, context.bot)
        return
    entries = await services.outbox.pending_and_dead()
    await message.reply_text(outbox_text(entries, services.settings.cmms.backend, tr))


def outbox_text(entries: list[OutboxEntry], backend: str, tr: i18n.Translator) -> str:
    """Pure: /outbox, what is not filed yet with the CMMS's own error (admins only: it may hold details)."""
    if not entries:
        return tr.gettext(OUTBOX_EMPTY)
    lines = [tr.gettext(OUTBOX_HEAD, backend=html.escape(backend), n=len(entries))]
    for entry in entries[:30]:
        error = f" — {html.escape(entry.last_error[:120])}" if entry.last_error else ""
        attempts = tr.ngettext("{n} attempt", "{n} attempts", entry.attempts, n=entry.attempts)
        lines.append(f"#{entry.id} {entry_line(entry, tr)}, {attempts}{error}")
    lines.append(tr.gettext(RETRY_HINT))
    return "\n".join(lines)
