"""The right/wrong buttons on a card. Callback data ``fb:r:<token>`` / ``fb:w:<token>`` (the card's token)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

PREFIX = "fb"
LABELS = {"r": "👍 Right", "w": "👎 Wrong"}
CHOSEN = " ✓"


def feedback_row(token: str, chosen: str | None = None) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(label + (CHOSEN if key == chosen else ""), callback_data=f"{PREFIX}:{key}:{token}")
        for key, label in LABELS.items()
    ]


def with_feedback(markup: InlineKeyboardMarkup, token: str, chosen: str | None = None) -> InlineKeyboardMarkup:
    """``markup`` with the right/wrong row just above the re-check row (replacing any earlier right/wrong row)."""
    rows = [list(row) for row in markup.inline_keyboard if not any(_is_feedback(b) for b in row)]
    at = next(
        (i for i, row in enumerate(rows) if any(str(b.callback_data or "").startswith("re:") for b in row)),
        len(rows),
    )
    rows.insert(at, feedback_row(token, chosen))
    return InlineKeyboardMarkup(rows)


def _is_feedback(button: InlineKeyboardButton) -> bool:
    return str(button.callback_data or "").startswith(PREFIX + ":")


def chosen(button: InlineKeyboardButton) -> str | None:
    """ "r" or "w" when ``button`` is a right/wrong button marked as chosen."""
    data = str(button.callback_data or "")
    if _is_feedback(button) and button.text.endswith(CHOSEN):
        return data.split(":")[1]
    return None
