"""The right/wrong buttons on a card. Callback data ``fb:r:<token>`` / ``fb:w:<token>`` (the card's token)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import i18n
from bot.i18n import N_

PREFIX = "fb"
RIGHT = N_("👍 Right")
WRONG = N_("👎 Wrong")
CHOSEN = " ✓"


def feedback_row(
    token: str, chosen: str | None = None, labels: dict[str, str] | None = None
) -> list[InlineKeyboardButton]:
    labels = labels or _labels(i18n.translator("en"))
    return [
        InlineKeyboardButton(label + (CHOSEN if key == chosen else ""), callback_data=f"{PREFIX}:{key}:{token}")
        for key, label in labels.items()
    ]


def with_feedback(
    markup: InlineKeyboardMarkup, token: str, chosen: str | None = None, tr: i18n.Translator | None = None
) -> InlineKeyboardMarkup:
    """``markup`` with the right/wrong row just above the re-check row (replacing any earlier right/wrong row).

    Labelled in ``tr``'s language; without one, the card's own labels are kept (a vote re-marks the row in the
    language the card was sent in)."""
    shown = [b for row in markup.inline_keyboard for b in row if _is_feedback(b)]
    if tr is not None or not shown:
        labels = _labels(tr or i18n.translator("en"))
    else:
        labels = {str(b.callback_data).split(":")[1]: b.text.removesuffix(CHOSEN) for b in shown}
    rows = [list(row) for row in markup.inline_keyboard if not any(_is_feedback(b) for b in row)]
    at = next(
        (i for i, row in enumerate(rows) if any(str(b.callback_data or "").startswith("re:") for b in row)),
        len(rows),
    )
    rows.insert(at, feedback_row(token, chosen, labels))
    return InlineKeyboardMarkup(rows)


def _labels(tr: i18n.Translator) -> dict[str, str]:
    return {"r": tr.gettext(RIGHT), "w": tr.gettext(WRONG)}


def _is_feedback(button: InlineKeyboardButton) -> bool:
    return str(button.callback_data or "").startswith(PREFIX + ":")


def chosen(button: InlineKeyboardButton) -> str | None:
    """ "r" or "w" when ``button`` is a right/wrong button marked as chosen."""
    data = str(button.callback_data or "")
    if _is_feedback(button) and button.text.endswith(CHOSEN):
        return data.split(":")[1]
    return None
