"""Feedback through Telegram: the card's right/wrong buttons, corrections by replying to a card, and the
record of each shown answer (with a re-check compared against the answer it re-checks).

Registered by ``register`` before the bot's catch-all, so a reply that is not to a card still gets the usual
"I work with photos" answer.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.chat import render
from bot.i18n import N_
from bot.quality import buttons, canary, feedback
from pipeline.agreement import disagreement

if TYPE_CHECKING:
    from bot.runtime.services import Services
    from pipeline import Result

log = logging.getLogger(__name__)

THANKS_RIGHT = N_("👍 Thanks, noted as right.")
THANKS_WRONG = N_(
    "👎 Noted as wrong. Reply to the card with what is right (e.g. the model or fault code), or tap Re-check."
)
CORRECTION_SAVED = N_("📝 Thanks, your correction is saved with this analysis.")
GONE = N_("I no longer have that analysis. Please send the photo again.")
NOT_YOURS = N_("Only the person who sent this photo (or an admin) can correct its answer.")


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return cast("Services", context.application.bot_data["services"])


async def after_answer(
    services: Services,
    token: str,
    result: Result,
    chat_id: int,
    *,
    user_id: int,
    recheck_of: str | None = None,
) -> None:
    """Remember the answer about to be shown; for a re-check, record whether it agrees with the first answer.

    Never raises: feedback bookkeeping must not cost the technician the answer they already have.
    """
    now = datetime.now(UTC)
    try:
        async with services.sessions.begin() as session:
            await feedback.remember_answer(
                session,
                token=token,
                chat_id=chat_id,
                message_id=0,  # set by card_shown once Telegram has the card
                user_id=user_id,
                result=result,
                arm=arm_of(services, user_id),
                now=now,
            )
            first = await feedback.shown_by_token(session, recheck_of) if recheck_of else None
            if first is not None:
                changed = disagreement(first.analysis, result.analysis)
                detail = f"re-check by {result.receipt.tier or 'cache'}: " + (
                    ("changed " + ", ".join(changed)) if changed else "agrees"
                )
                await feedback.record(
                    session,
                    first,
                    user_id=user_id,
                    kind="recheck",
                    verdict="wrong" if changed else "right",
                    detail=detail,
                    now=now,
                )
    except Exception:
        log.exception("could not record the shown answer %s", token)


async def card_shown(session: AsyncSession, token: str, message_id: int) -> None:
    """The card's message id, so a reply to it is found (inside the caller's transaction)."""
    await feedback.set_message(session, token, message_id)


def arm_of(services: Services, user_id: int) -> str | None:
    """The canary arm this user is served by (None when no canary runs)."""
    return canary.arm_for(services.settings.bot, services.settings.pipeline, user_id)


async def on_vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """fb:r:<token> / fb:w:<token>: one tap, stored with who tapped; a second tap changes the vote."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    _, choice, token = query.data.split(":", 2)
    services = _services(context)
    user_id = update.effective_user.id
    not_theirs = False
    async with services.sessions.begin() as session:  # no Telegram call inside: SQLite has one connection
        shown = await feedback.shown_by_token(session, token)
        not_theirs = shown is not None and user_id != shown.user_id and not services.is_admin(user_id)
        if shown is not None and not not_theirs:
            verdict: feedback.Verdict = "right" if choice == "r" else "wrong"
            await feedback.record(
                session, shown, user_id=user_id, kind="vote", verdict=verdict, detail=None,
                now=datetime.now(UTC),
            )  # fmt: skip
    if not_theirs:
        tr = await services.translator(user_id)  # in a group, only its owner judges it
        await query.answer(tr.gettext(render.NOT_YOUR_CARD), show_alert=True)
        return
    tr = await services.translator(user_id)
    if shown is None:
        await query.answer(tr.gettext(GONE), show_alert=True)
        return
    thanks = THANKS_RIGHT if choice == "r" else THANKS_WRONG
    await query.answer(tr.gettext(thanks), show_alert=choice == "w")
    card = query.message
    if isinstance(card, Message) and isinstance(card.reply_markup, InlineKeyboardMarkup):
        with contextlib.suppress(BadRequest):  # "not modified" when the same button is tapped twice
            await card.edit_reply_markup(reply_markup=buttons.with_feedback(card.reply_markup, token, choice))


async def on_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text reply to a card is a correction of that answer; a reply to anything else gets the usual answer."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.reply_to_message is not None
    services = _services(context)
    text = (message.text or "").strip()
    from bot.quality import reviewing  # here: it imports bot.chat.workorders

    if await reviewing.on_admin_reply(update, context):  # corrections to a work order held for review
        return
    async with services.sessions.begin() as session:
        shown = await feedback.shown_by_message(session, message.chat_id, message.reply_to_message.message_id)
        mine = shown is not None and (user.id == shown.user_id or services.is_admin(user.id))
        if shown is not None and mine and text:
            await feedback.record(
                session, shown, user_id=user.id, kind="correction", verdict="wrong", detail=text,
                now=datetime.now(UTC),
            )  # fmt: skip
    tr = await services.translator(user.id)
    if shown is None or not text:  # a reply to a message that is not a card (bot/chat/questions.py words it)
        from bot.chat.questions import not_a_card  # here: bot.chat.questions imports this module

        await message.reply_text(not_a_card(tr))
        return
    if not mine:  # in a group, a colleague's reply to someone else's card is not that answer's label
        await message.reply_text(tr.gettext(NOT_YOURS))
        return
    log.info("correction from %s on %s (%s)", user.id, shown.request_id, shown.tier)
    await message.reply_text(tr.gettext(CORRECTION_SAVED))


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Before the bot's catch-all: /quality, the vote buttons and replies to cards."""
    from bot.chat import admin
    from bot.quality import reviewing  # here: it imports bot.chat.workorders
    from bot.quality.commands import quality_command, whatif_command  # here: bot.chat.admin imports handlers

    app.add_handler(CommandHandler("quality", quality_command))
    app.add_handler(CommandHandler("whatif", whatif_command))
    app.add_handler(CommandHandler("reviews", admin.admin_only(reviewing.reviews_command)))
    app.add_handler(CallbackQueryHandler(on_vote, pattern=rf"^{buttons.PREFIX}:[rw]:"))
    app.add_handler(CallbackQueryHandler(reviewing.on_button, pattern=rf"^{reviewing.PREFIX}:[ac]:[0-9]{{1,12}}$"))
    app.add_handler(MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, on_reply))
