"""Getting an answer to the technician whatever Telegram says about it.

``render.card`` already keeps a card within Telegram's limits, but Telegram is the judge: if it still refuses
the formatted card ("can't parse entities", "message is too long"), the same answer goes out as plain text,
cut into as many messages as it needs, with a line saying the formatting was lost. Only when even that fails
is the answer lost, and then the caller un-charges the user and drops the cached answer (``Delivery.LOST``),
so a re-send is analysed afresh rather than failing the same way for 24 hours.
"""

from __future__ import annotations

import enum
import logging

from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest, TelegramError

from bot.chat import render
from bot.i18n import Translator, translator

log = logging.getLogger(__name__)

PLAIN_NOTE = render.PLAIN_NOTE  # English source texts; the user reads them in their language
LOST = render.ANSWER_LOST


class Delivery(enum.Enum):
    CARD = "card"  # the formatted card, as rendered
    PLAIN = "plain"  # refused as HTML; sent as plain text (possibly several messages)
    LOST = "lost"  # nothing could be shown; the user was told (if even that worked)


def _not_modified(exc: BadRequest) -> bool:
    return "not modified" in str(exc).lower()


async def deliver_card(
    status: Message, html: str, keyboard: InlineKeyboardMarkup | None, tr: Translator | None = None
) -> Delivery:
    """Replace the status message with the card; fall back to plain text; report what arrived."""
    tr = tr or translator("en")
    try:
        await status.edit_text(html, reply_markup=keyboard)
        return Delivery.CARD
    except BadRequest as exc:
        if _not_modified(exc):
            return Delivery.CARD
        log.warning("Telegram refused the card (%s); sending it as plain text", exc.message)
    pieces = render.split_plain(f"{render.visible_text(html)}\n\n{tr.gettext(PLAIN_NOTE)}")
    try:
        await status.edit_text(pieces[0], parse_mode=None, reply_markup=keyboard if len(pieces) == 1 else None)
        for i, piece in enumerate(pieces[1:], start=2):
            last = i == len(pieces)
            await status.get_bot().send_message(
                status.chat_id, piece, parse_mode=None, reply_markup=keyboard if last else None
            )
        return Delivery.PLAIN
    except TelegramError:
        log.warning("Telegram refused the plain-text answer too", exc_info=True)
    try:
        await status.edit_text(tr.gettext(LOST), parse_mode=None)
    except TelegramError:
        log.warning("could not tell the user their answer was lost", exc_info=True)
    return Delivery.LOST
