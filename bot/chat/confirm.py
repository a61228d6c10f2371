"""The technician settles a disputed identifier with one tap.

When the plate and the analysis disagree on a serial, a model or a maker (evidence *near* or *contradicted*),
the card shows both readings and asks the technician to look. Under it, one row per disputed field offers both
readings as buttons; the technician taps the one printed on the plate. The card's analysis then carries that
value and its work order files it as verified (by that technician) instead of "unverified", so CMMS equipment
matching can use it. The button rows go away once answered; the card says who checked what.

Buttons carry ``cf:<token>:<field code>:<p|a>`` (plate's reading or the analysis's): well under Telegram's
64 bytes. Only the card's owner (or an admin) may answer, as for every card button.
"""

from __future__ import annotations

import contextlib
import logging
from html import escape
from typing import Any, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.chat import cards, render
from bot.i18n import N_, Translator
from bot.runtime.services import Services
from pipeline.sanitize import clean_text

log = logging.getLogger(__name__)

CODES = {"serial_number": "s", "model": "m", "manufacturer": "b"}
FIELDS = {code: name for name, code in CODES.items()}
LABELS = {"serial_number": N_("S/N"), "model": N_("Model"), "manufacturer": N_("Maker")}
MAX_ROWS = 3


def rows(token: str, provenance: dict[str, Any] | None, tr: Translator) -> list[list[InlineKeyboardButton]]:
    """One row per disputed identifier: the plate's reading and the analysis's, each a button."""
    out: list[list[InlineKeyboardButton]] = []
    for item in (provenance or {}).get("disputed", [])[:MAX_ROWS]:
        field = item["field"]
        label, code = tr.gettext(LABELS[field]), CODES[field]
        out.append(
            [
                InlineKeyboardButton(f"✔ {label} {_short(item['plate'])}", callback_data=f"cf:{token}:{code}:p"),
                InlineKeyboardButton(f"✔ {label} {_short(item['analysis'])}", callback_data=f"cf:{token}:{code}:a"),
            ]
        )
    return out


def with_rows(keyboard: InlineKeyboardMarkup, extra: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([*extra, *keyboard.inline_keyboard]) if extra else keyboard


async def on_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``cf:`` — the technician's reading of one disputed field."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    services = cast(Services, context.application.bot_data["services"])
    user = update.effective_user
    tr = await services.translator(user.id)
    _, token, code, choice = [*query.data.split(":"), "", "", ""][:4]
    field = FIELDS.get(code)
    ticket = await cards.get(services.sessions, token)
    if field is None or choice not in ("p", "a") or ticket is None or ticket.provenance is None:
        await query.answer(tr.gettext(render.UNKNOWN_BUTTON), show_alert=True)
        return
    if not ticket.may_press(user.id, is_admin=services.is_admin(user.id)):
        await query.answer(tr.gettext(render.NOT_YOUR_CARD), show_alert=True)
        return
    item = next((d for d in ticket.provenance.get("disputed", []) if d.get("field") == field), None)
    if item is None:
        await query.answer(tr.gettext("Already checked."))
        return
    value = clean_text(str(item["plate" if choice == "p" else "analysis"]), multiline=False)[:120]
    settled = await cards.settle(services.sessions, token, field, value, user.id)
    if settled is None:
        await query.answer(tr.gettext("Already checked."))
        return
    source = "plate's" if choice == "p" else "analysis's"
    log.info("user %s settled %s of card %s as the %s reading", user.id, field, token, source)
    await query.answer(tr.gettext("Saved. The work order will carry it as checked by you."))
    if isinstance(query.message, Message):
        await _update_card(query.message, settled.provenance or {}, field, value, user.first_name, tr)


async def _update_card(
    message: Message, provenance: dict[str, Any], field: str, value: str, name: str, tr: Translator
) -> None:
    """The card says who checked what, and loses the answered row (its other buttons stay)."""
    answered = f":{CODES[field]}:"
    rows_now = message.reply_markup.inline_keyboard if message.reply_markup else ()
    keep = [
        row for row in rows_now
        if not any(str(b.callback_data or "").startswith("cf:") and answered in str(b.callback_data) for b in row)
    ]  # fmt: skip
    line = tr.gettext(
        "✅ {field} checked on the plate by {name}: {value}",
        field=tr.gettext(LABELS[field]),
        name=escape(clean_text(name, multiline=False)[:64]),
        value=f"<code>{escape(value)}</code>",
    )
    markup = InlineKeyboardMarkup(keep)
    text = f"{message.text_html}\n\n{line}" if message.text_html else line
    try:
        if render.visible_length(text) <= render.MAX_MESSAGE:
            await message.edit_text(text, reply_markup=markup)
            return
    except BadRequest:
        log.warning("could not add the check to the card", exc_info=True)
    with contextlib.suppress(BadRequest):
        await message.edit_reply_markup(reply_markup=markup)


def _short(value: str) -> str:
    value = clean_text(str(value), multiline=False)
    return value if len(value) <= 24 else value[:23] + "…"
