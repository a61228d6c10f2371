"""Human review in Telegram: a critical work order waits, its technician is told, admins Approve or Correct.

``maybe_hold`` is asked by ``bot.chat.workorders.file_work_order`` before anything reaches the outbox. When the
policy (``bot.quality.review``) holds the work order, the technician's status message says it is waiting and
every admin gets the answer with ✅ Approve / ✏️ Correct. Approve files it as it is; Correct is a reply to that
message with "field: value" lines. Either way the work order goes through the usual outbox (one transaction
with the decision, so it is filed once and never lost), the technician's status message follows it to
"created", and the admin's decision is kept as feedback on the answer (a label for /quality).
"""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import i18n
from bot.chat import workorders
from bot.chat.evidence import work_order_flags
from bot.i18n import N_
from bot.quality import feedback, review
from bot.quality.models import ShownAnswer
from cmmsconnect import Reporter, work_order_from_analysis

if TYPE_CHECKING:
    from bot.chat.cards import CardTicket
    from bot.runtime.services import Services
    from bot.runtime.settings import BotSettings

log = logging.getLogger(__name__)

PREFIX = "rv"
MARK = re.compile(r"^🛡 #(\d{1,12}) ")  # the first line of an admin's review message names the review

WAITING = N_("⏳ This work order waits for an admin's approval before it is filed ({why}).")
WAITING_SHORT = N_("waiting for an admin's approval")
STILL_WAITING = N_("⏳ This work order is still waiting for an admin's approval.")
APPROVED = N_("✅ An admin approved this work order. Filing it…")
CORRECTED = N_("✏️ An admin corrected this work order ({fields}). Filing it…")
REVIEW = N_(  # after the "🛡 #<id> " mark, which is not translated: a reply to this message is found by it
    "Review before filing: <b>{title}</b>\n"
    "Why: {why}\n"
    "Asked by {reporter}\n"
    "{details}\n\n"
    "Tap Approve to file it as it is, or reply to this message with corrections, one per line "
    "(e.g. priority: high)."
)
APPROVE = N_("✅ Approve")
CORRECT = N_("✏️ Correct")
CORRECT_HOW = N_("Reply to the review message with the corrected fields, one per line, e.g. priority: high")
ADMINS_ONLY = N_("Only admins can review work orders.")
DECIDED = N_("This work order was already decided ({state}).")
RACED = N_("Another admin decided this work order first.")
GONE = N_("I no longer have that work order.")
FILED = N_("📝 #{id} {state}: filing it.")
BAD = N_("❌ Not filed: {problem}. Reply again with lines like priority: high")
NONE_WAITING = N_("No work order is waiting for review.")
TITLE = N_("{name} · priority: {priority}")
STATES = {review.WAITING: N_("waiting"), review.APPROVED: N_("approved"), review.CORRECTED: N_("corrected")}


def policy_of(settings: BotSettings) -> review.ReviewPolicy:
    return review.ReviewPolicy(
        priorities=frozenset(settings.review_priorities),
        safety_terms=tuple(settings.review_safety_terms),
        below_score=settings.review_below_score,
    )


async def maybe_hold(
    services: Services, bot: Bot, ticket: CardTicket, card: Message, reporter: Reporter, *, token: str
) -> bool:
    """True when the work order waits for an admin (the technician has been told); False: file it now."""
    policy = policy_of(services.settings.bot)
    if ticket.analysis is None or not policy.active or services.is_admin(reporter.id):
        return False  # an admin's own filing is its review
    if not services.settings.bot.admin_user_ids:
        log.warning("REVIEW_* is set but ADMIN_USER_IDS is empty: nobody could approve; filing without review")
        return False
    async with services.sessions() as session:
        shown = await session.get(ShownAnswer, token)
    why = review.reasons(policy, ticket.analysis, shown.score if shown is not None else None)
    if not why:
        return False
    async with services.sessions.begin() as session:
        held = await review.hold(
            session, token=token, chat_id=card.chat_id, card_message_id=card.message_id, reporter_id=reporter.id,
            reporter_name=reporter.name, analysis=ticket.analysis,
            flags=work_order_flags(ticket.provenance),
            photo_file_id=ticket.refs[0].file_id if ticket.refs else None, why=why, now=datetime.now(UTC),
        )  # fmt: skip
    if held.state != review.WAITING:
        return False  # decided already: the outbox knows it ("already filed")
    tr = await services.translator(reporter.id)
    if held.status_message_id is not None:
        await card.reply_text(tr.gettext(STILL_WAITING))
        return True
    status = await card.reply_text(tr.gettext(WAITING, why=html.escape(_reasons(why, tr))))
    async with services.sessions.begin() as session:
        await review.set_status_message(session, held.id, status.message_id)
    log.info("work order for card %s held for review #%d: %s", token, held.id, ", ".join(why))
    await _ask_admins(services, bot, held)
    return True


async def _ask_admins(services: Services, bot: Bot, held: review.Held, *, only: int | None = None) -> None:
    for admin in [only] if only is not None else services.settings.bot.admin_user_ids:
        tr = await services.translator(admin)
        buttons = [
            InlineKeyboardButton(tr.gettext(APPROVE), callback_data=f"{PREFIX}:a:{held.id}"),
            InlineKeyboardButton(tr.gettext(CORRECT), callback_data=f"{PREFIX}:c:{held.id}"),
        ]
        text = f"🛡 #{held.id} " + tr.gettext(
            REVIEW, title=_title(held.analysis, tr), why=html.escape(_reasons(held.reasons, tr)),
            reporter=html.escape(held.reporter_name), details=_details(held),
        )  # fmt: skip
        try:
            await bot.send_message(admin, text, reply_markup=InlineKeyboardMarkup([buttons]))
        except TelegramError:
            log.warning("could not ask admin %s to review #%d", admin, held.id, exc_info=True)


def _title(analysis: Any, tr: i18n.Translator) -> str:
    """HTML: the equipment and the priority, as the card names it."""
    name = " ".join(p for p in (analysis.manufacturer, analysis.model) if p) or analysis.equipment_type
    return tr.gettext(TITLE, name=html.escape(name), priority=workorders.priority_name(analysis.priority, tr))


def _reasons(reasons: list[str], tr: i18n.Translator) -> str:
    """Why a work order waits, in the reader's words (plain text)."""
    return ", ".join(review.reason_text(r, tr) for r in reasons)


def _state(state: str, tr: i18n.Translator) -> str:
    return tr.gettext(STATES[state]) if state in STATES else html.escape(state)


def _details(held: review.Held) -> str:
    a = held.analysis
    lines = [html.escape(a.summary)] if a.summary else []
    lines += [f"⚠️ {html.escape(note)}" for note in a.safety_notes[:3]]
    fields = {"serial_number": a.serial_number, "condition": a.condition, "fault_codes": ", ".join(a.fault_codes)}
    lines += [f"{name}: {html.escape(str(value))}" for name, value in fields.items() if value]
    return "\n".join(lines)


async def waiting_lines(services: Services, user_id: int) -> list[str]:
    """/workorders' lines for this technician's work orders that wait for an admin."""
    async with services.sessions() as session:
        held = await review.waiting(session, 10, reporter_id=user_id)
    tr = await services.translator(user_id)
    return [f"⏳ {_title(h.analysis, tr)} — {tr.gettext(WAITING_SHORT)}" for h in held]


async def reviews_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reviews (admins): the work orders still waiting, each sent again with its Approve / Correct buttons."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    tr = await services.translator(user.id)
    async with services.sessions() as session:
        held = await review.waiting(session)
    if not held:
        await message.reply_text(tr.gettext(NONE_WAITING))
        return
    await message.reply_text(
        tr.ngettext(
            "{n} work order is waiting for review:", "{n} work orders are waiting for review:", len(held), n=len(held)
        )
    )
    for item in held:
        await _ask_admins(services, context.bot, item, only=message.chat_id)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """rv:a:<id> approve, rv:c:<id> explain how to correct (admins only)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    services = _services(context)
    tr = await services.translator(user.id)
    if not services.is_admin(user.id):
        await query.answer(tr.gettext(ADMINS_ONLY), show_alert=True)
        return
    _, action, review_id = query.data.split(":", 2)
    if action == "c":
        await query.answer(tr.gettext(CORRECT_HOW), show_alert=True)
        return
    problem = await decide(services, context.bot, int(review_id), by=user.id, updates=None)
    await query.answer(problem or tr.gettext(FILED, id=review_id, state=_state(review.APPROVED, tr)))
    if problem is None and isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


async def on_admin_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """An admin's reply to a review message: the corrections, then filing. False when it is no such reply."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    replied = message.reply_to_message
    services = _services(context)
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return False
    found = MARK.match(replied.text or "")
    if found is None or not services.is_admin(user.id):
        return False
    tr = await services.translator(user.id)
    try:
        updates = review.parse_corrections(message.text or "")
    except review.CorrectionError as exc:
        await message.reply_text(tr.gettext(BAD, problem=html.escape(exc.text(tr))))
        return True
    problem = await decide(services, context.bot, int(found.group(1)), by=user.id, updates=updates)
    await message.reply_text(problem or tr.gettext(FILED, id=found.group(1), state=_state(review.CORRECTED, tr)))
    return True


async def decide(
    services: Services, bot: Bot, review_id: int, *, by: int, updates: dict[str, Any] | None
) -> str | None:
    """Approve (``updates`` None) or correct, and file through the outbox; the reason it did not, or None."""
    tr = await services.translator(by)
    async with services.sessions() as session:
        held = await review.get(session, review_id)
    if held is None:
        return tr.gettext(GONE)
    if held.state != review.WAITING:
        return tr.gettext(DECIDED, state=_state(held.state, tr))
    analysis, flags = held.analysis, held.flags
    if updates is not None:
        try:
            analysis = review.corrected(held.analysis, updates)
        except review.CorrectionError as exc:
            return tr.gettext(BAD, problem=html.escape(exc.text(tr)))
        flags = held.with_flags_verified(review.IDENTIFIERS & updates.keys())
    photo = await _photo(bot, held.photo_file_id)
    work_order = work_order_from_analysis(
        analysis.model_dump(mode="json"), key=workorders.key_for(held.chat_id, held.card_message_id), photo=photo,
        reporter=Reporter(held.reporter_id, held.reporter_name), chat_id=held.chat_id,
        message_id=held.card_message_id, unverified=flags.get("unverified", ()), asset=flags.get("asset"),
    )  # fmt: skip
    state = review.APPROVED if updates is None else review.CORRECTED
    now = datetime.now(UTC)
    async with services.sessions.begin() as session:  # the decision and the outbox row: together or not at all
        if not await review.decide(session, review_id, by=by, state=state, corrections=updates, now=now):
            return tr.gettext(RACED)
        await services.outbox.submit(session, work_order)
        shown = await feedback.shown_by_token(session, held.token)
        if shown is not None:  # the admin's judgement is a label on the answer
            detail = "; ".join(f"{k}: {v}" for k, v in (updates or {}).items()) or None
            kind: feedback.Kind = "vote" if updates is None else "correction"
            verdict: feedback.Verdict = "right" if updates is None else "wrong"
            await feedback.record(session, shown, user_id=by, kind=kind, verdict=verdict, detail=detail, now=now)
    log.info("review #%d %s by %s", review_id, state, by)
    await _tell_technician(services, bot, held, work_order.key, updates)
    await workorders.deliver_soon(services, bot, work_order.key)
    return None


async def _tell_technician(
    services: Services, bot: Bot, held: review.Held, key: str, updates: dict[str, Any] | None
) -> None:
    tr = await services.translator(held.reporter_id)
    text = tr.gettext(APPROVED) if updates is None else tr.gettext(CORRECTED, fields=html.escape(", ".join(updates)))
    try:
        if held.status_message_id is not None:
            await bot.edit_message_text(text, chat_id=held.chat_id, message_id=held.status_message_id)
            services.wo_status[key] = held.status_message_id  # the outbox's reports edit the same message
        else:
            status = await bot.send_message(held.chat_id, text, reply_to_message_id=held.card_message_id)
            services.wo_status[key] = status.message_id
    except TelegramError:
        log.warning("could not tell the technician about review #%d", held.id, exc_info=True)


async def _photo(bot: Bot, file_id: str | None) -> bytes | None:
    if file_id is None:
        return None
    try:
        file = await bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())
    except TelegramError:
        log.warning("could not fetch the photo for a reviewed work order; filing without it", exc_info=True)
        return None


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return cast("Services", context.application.bot_data["services"])
