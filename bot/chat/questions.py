"""Questions answered in words, in the user's language (pipeline/textpath.py does the model call).

Three ways a question arrives:

* **a reply to a card** — a follow-up, answered in the context of that card's stored analysis. Only the card's
  owner (or an admin) may ask: in a group, everyone sees the card, but a question spends its owner's allowance.
  The answer can be replied to in turn: it is recorded as a message of the same card.
* **a text message in a private chat** — answered when it looks like a question about equipment
  (``topics.is_equipment_question``: a fault code, a make, an equipment word); anything else (a greeting,
  empty text) gets the short help, free.
* **a caption on a photo the cache already knows without a caption** — the cached analysis answers the
  photo and the caption's question is answered in words on top of it (``ask_cached``), instead of a second
  vision call; see bot/chat/handlers.py ``process``.

Every answer is reserved against the free-question allowance first (bot/accounts/questions.py) and given back
when nothing reached the user; bad input (too long, a reply to something that is not a card, someone else's
card) is answered before anything is reserved or called.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from datetime import UTC, datetime
from html import escape
from typing import cast

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import i18n
from bot.accounts import questions as allowance
from bot.chat import cards, render
from bot.chat.status import edit
from bot.chat.topics import is_equipment_question, looks_like_question
from bot.quality import telegram as quality_replies
from bot.runtime.services import Services
from bot.updates import inbox
from pipeline import Analysis, AnalysisFailed, NoTierAvailable, PipelineError, Result, format_usd
from pipeline.questions import MAX_QUESTION_CHARS, Answered, QuestionTooLong, clean_question
from pipeline.sanitize import clip

log = logging.getLogger(__name__)


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return cast(Services, context.application.bot_data["services"])


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message (not a command): a follow-up on a card, a question about equipment, or the short help."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = _services(context)
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == context.bot.id:
        # A question replying to a card, or anything replying to an answer about one, is a follow-up; any other
        # reply (a correction of a card, an admin's reply to a work order held for review) is bot/quality's.
        found = await cards.message_at(services.sessions, message.chat_id, reply.message_id)
        if found is not None and (found.kind == "answer" or looks_like_question(message.text or "")):
            await _follow_up(services, message, user.id, found.token, update.update_id)
        else:
            await quality_replies.on_reply(update, context)
        return
    if message.chat.type != ChatType.PRIVATE:
        return  # in a group only replies to the bot's own messages are for the bot
    tr = await services.translator(user.id)
    if not is_equipment_question(message.text or ""):
        await message.reply_text(not_a_question(tr))
        return
    await answer(services, message, user.id, message.text or "", tr=tr, update_id=update.update_id)


async def _follow_up(services: Services, message: Message, user_id: int, token: str, update_id: int) -> None:
    tr = await services.translator(user_id)
    ticket = await cards.get(services.sessions, token)
    if ticket is None or ticket.analysis is None:
        await message.reply_text(not_a_card(tr))
        return
    if not ticket.may_press(user_id, is_admin=services.is_admin(user_id)):
        await message.reply_text(not_your_card(tr))
        return
    await answer(
        services, message, user_id, message.text or "", tr=tr, about=ticket.analysis, caption=ticket.caption,
        token=token, update_id=update_id,
    )  # fmt: skip


async def answer(
    services: Services,
    message: Message,
    user_id: int,
    text: str,
    *,
    tr: i18n.Translator,
    about: Analysis | None = None,
    caption: str | None = None,
    token: str | None = None,
    update_id: int | None = None,
) -> None:
    """Check, reserve, ask, answer; on any failure the user is told and the reservation given back (after a
    crash, by recovery: the update's inbox row holds the question, ``hold_question``)."""
    try:
        question = clean_question(text)
    except QuestionTooLong as exc:
        await message.reply_text(too_long(tr, exc.length))
        return
    if not question:
        await message.reply_text(not_a_question(tr))
        return
    if not services.is_admin(user_id):
        wait = await services.rate.check(user_id)
        if wait is not None:
            await message.reply_text(too_fast(tr, services.rate.per_minute, wait))
            return
    limit = services.settings.bot.free_questions_per_day
    ticket = await _reserve(services, user_id, update_id)
    if ticket is None:
        await message.reply_text(used_up(tr, limit))
        return
    status: Message | None = None
    failure: str
    try:
        status = await message.reply_text(tr.gettext("🔎 Looking that up…"))
        answered = await services.pipeline.ask(
            question, context=about, caption=caption, user_id=user_id, guard=services.guard, language=tr.prompt_name
        )
        left = await _left(services, ticket)
        await edit(status, answer_html(tr, question, answered, about=about, left=left, admin=ticket.plan == "admin"))
        log.info("question answered via %s for %d µUSD", answered.tier, answered.cost_micro_usd)
    except NoTierAvailable as exc:
        failure = budget_paused(tr) if exc.budget_refused else no_service(tr)
    except AnalysisFailed:
        failure = no_answer(tr)
    except Exception:
        log.exception("answering a question failed for user %s", user_id)
        failure = no_answer(tr)
    else:  # delivered: what follows is bookkeeping and must never turn a delivered answer into an apology
        if token is not None:
            await _keep(services, token, status, question, answered.text)
        return
    await give_back(services, ticket, update_id)
    with contextlib.suppress(TelegramError):
        if status is not None:
            await edit(status, failure)
        else:
            await message.reply_text(failure)


async def _keep(services: Services, token: str, status: Message, question: str, answer_text: str) -> None:
    """A reply to this answer continues with the same card, and the card's work order carries the exchange."""
    try:
        await cards.placed(services.sessions, token, status.chat_id, status.message_id, datetime.now(UTC), "answer")
        await cards.add_follow_up(services.sessions, token, question, answer_text)
    except Exception:
        log.exception("could not keep the follow-up with card %s", token)


async def _reserve(services: Services, user_id: int, update_id: int | None) -> allowance.QuestionTicket | None:
    """Take a question from today's allowance; the update's inbox row holds it until the update is done."""
    async with services.sessions.begin() as session:
        ticket = await allowance.reserve_question(
            session,
            user_id=user_id,
            is_admin=services.is_admin(user_id),
            limit=services.settings.bot.free_questions_per_day,
            now=datetime.now(UTC),
        )
        if ticket is not None and ticket.counted and update_id is not None:
            await inbox.hold_question(session, update_id, ticket.user_id, ticket.day)
    return ticket


async def give_back(services: Services, ticket: allowance.QuestionTicket, update_id: int | None = None) -> None:
    async with services.sessions.begin() as session:
        await allowance.release_question(session, ticket)
        if ticket.counted and update_id is not None:
            await inbox.hold_question(session, update_id, None, None)


async def _left(services: Services, ticket: allowance.QuestionTicket) -> int | None:
    if not ticket.counted:
        return None
    async with services.sessions() as session:
        return await allowance.left_today(
            session, user_id=ticket.user_id, limit=services.settings.bot.free_questions_per_day, now=datetime.now(UTC)
        )


def answer_html(
    tr: i18n.Translator, question: str, answered: Answered, *, about: Analysis | None, left: int | None, admin: bool
) -> str:
    """The answer message: the question, the answer, where it came from; under it the allowance left."""
    lines = [f"💬 <i>{escape(question)}</i>", "", escape(answered.text), ""]
    source = render.tier_label(answered.tier)
    if about is not None:
        name = " ".join(x for x in (about.manufacturer, about.model) if x) or about.equipment_type
        source = tr.gettext("About the {equipment} card · {source}", equipment=clip(name, 80), source=source)
    if admin:
        source += f" · {format_usd(answered.cost_micro_usd)}"
    lines.append(f"<i>{escape(source)}</i>")
    if left is not None:
        lines.append(questions_left(tr, left))
    if about is not None:
        lines.append(tr.gettext("↩️ Reply to this message to ask more about it."))
    return "\n".join(lines)


async def ask_cached(
    services: Services, photos: list[bytes], caption: str, user_id: int, update_id: int | None = None
) -> tuple[Result, allowance.QuestionTicket] | None:
    """A caption's question on photos the cache knows *without* a caption: the cached analysis, with the
    question answered in words on top of it. None when there is no such analysis, no allowance left or no
    answer: the caller then analyses the photos with the caption, which asks the question with the photo.

    Only a caption-free analysis is reused: one made under another caption may have been steered by it
    (pipeline/cache.py)."""
    language = (await services.translator(user_id)).prompt_name
    neutral = await services.pipeline.cached(photos, caption=None, user_id=user_id, language=language)
    if neutral is None:
        return None
    question = clip(clean_question_lenient(caption), MAX_QUESTION_CHARS)
    if not question:
        return None
    ticket = await _reserve(services, user_id, update_id)
    if ticket is None:
        return None
    try:
        answered = await services.pipeline.ask(
            question, context=neutral.analysis, user_id=user_id, guard=services.guard, language=language
        )
    except PipelineError:
        log.info("no answer for the caption's question; analysing the photo with it instead", exc_info=True)
        await give_back(services, ticket, update_id)
        return None
    receipt = replace(
        neutral.receipt,
        cost_micro_usd=answered.cost_micro_usd,
        attempts=[*neutral.receipt.attempts, *answered.attempts],
    )
    return Result(neutral.analysis.model_copy(update={"answer": answered.text}), receipt, neutral.analysis_id), ticket


def clean_question_lenient(text: str) -> str:
    """A caption as a question: cleaned like one, cut (not refused) at the limit, as the photo prompt does."""
    try:
        return clean_question(text)
    except QuestionTooLong:
        return clean_question(text[:MAX_QUESTION_CHARS])


# -- what the user reads (bot/i18n catalogue) -------------------------------------------------------------------
def not_a_question(tr: i18n.Translator) -> str:
    return tr.gettext(
        "I work with photos 📷 and questions about equipment. Send a picture of a nameplate, a PLC, a drive "
        "display or a panel, or ask about equipment, e.g. <i>what does F004 mean on a PowerFlex 525?</i> "
        "/help shows more."
    )


def not_a_card(tr: i18n.Translator) -> str:
    return tr.gettext(
        "↩️ That message is not one of my analysis cards, or it is too old. Reply to an analysis card to ask "
        "about it, or send your question on its own. Nothing was charged."
    )


def not_your_card(tr: i18n.Translator) -> str:
    return tr.gettext(
        "Only the person who sent this photo (or an admin) can ask about this card. Send your own photo or "
        "question. Nothing was charged."
    )


def too_long(tr: i18n.Translator, length: int) -> str:
    return tr.gettext(
        "✂️ Your question is {n} characters long; I take up to {limit}. Please shorten it and send it again. "
        "Nothing was charged.",
        n=length,
        limit=MAX_QUESTION_CHARS,
    )


def used_up(tr: i18n.Translator, limit: int) -> str:
    return tr.ngettext(
        "🔒 You have used today's {n} free question. It renews tomorrow (UTC); /upgrade for unlimited questions "
        "and photos.",
        "🔒 You have used today's {n} free questions. They renew tomorrow (UTC); /upgrade for unlimited "
        "questions and photos.",
        limit,
        n=limit,
    )


def too_fast(tr: i18n.Translator, per_minute: int, wait_s: float) -> str:
    """The per-user rate limit (photos and questions share it), worded for a question."""
    return tr.gettext(
        "⏳ That is more than {n} requests a minute. Please wait {s} s and ask again; nothing was charged.",
        n=per_minute,
        s=max(1, round(wait_s)),
    )


def questions_left(tr: i18n.Translator, left: int) -> str:
    return tr.ngettext("🎟 {n} free question left today.", "🎟 {n} free questions left today.", left, n=left)


def no_service(tr: i18n.Translator) -> str:
    return tr.gettext(
        "😕 I can't answer questions right now: no analysis service is reachable. Nothing was charged; please "
        "try again in a few minutes."
    )


def budget_paused(tr: i18n.Translator) -> str:
    return tr.gettext(
        "💸 Answers are paused: today's spending budget is used up and no local model is available. Nothing was "
        "charged; please try again tomorrow."
    )


def no_answer(tr: i18n.Translator) -> str:
    return tr.gettext(
        "😕 I couldn't get an answer from any of my analysis services. Nothing was charged; please try again."
    )
