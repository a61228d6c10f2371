"""What the technician reads: the analysis card, status lines and receipts, as Telegram HTML.

Pure functions. Every value that came from a model or a user is cleaned (no control or bidi-override
characters) and escaped; the card never shows JSON or markdown. Telegram refuses a message over 4,096 (a
caption over 1,024) UTF-16 code units of *visible* text, so lengths are measured that way (``visible_length``)
and a long card is cut by whole lines, least important first, rather than failing the send.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape, unescape

from bot.chat.evidence import evidence_lines, plate_receipt_line
from bot.i18n import N_, Translator, translator
from cmmsconnect import OutboxEntry
from pipeline.costs import format_usd
from pipeline.sanitize import clean_text
from pipeline.types import Analysis, Progress, Receipt

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
_MAX_ITEMS = 8

_CONDITION = {
    "normal": N_("✅ Normal"),
    "warning": N_("⚠️ Warning"),
    "fault": N_("🛑 Fault"),
    "unknown": N_("❔ Condition unknown"),
}
_PRIORITY = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High"), "urgent": N_("🚨 Urgent")}
_TIER_LABEL = {
    "ollama": N_("local model"),
    "gemini": "Gemini",
    "grok": "Grok",
    "claude": "Claude",
    "openai": "OpenAI",
}
EN = translator("en")


def tier_label(tier: str | None, tr: Translator = EN) -> str:
    label = _TIER_LABEL.get(tier or "", tier or "?")
    return tr.gettext(label) if tier == "ollama" else label


# Status lines, in the user's language (bot/i18n); every one starts with 🔎 so it reads as "still working".
ANALYZING = N_("🔎 Analyzing…")
ALBUM_STATUS = N_("🔎 Analyzing… (collecting the album)")
RECHECKING = N_("🔎 Re-checking with a fresh analysis…")
RESUMED = N_("{text} (picked up again after a restart)")


def status_text(progress: Progress, tr: Translator | None = None) -> str:
    tr = tr or translator("en")
    if progress.stage == "cache":
        return tr.gettext("🔎 Analyzing… checking photos I have seen before")
    if progress.stage == "plate":
        return tr.gettext("🔎 Analyzing… reading the nameplate")
    if progress.stage == "tier":
        if progress.is_local:
            return tr.gettext("🔎 Analyzing… asking the local model")
        return tr.gettext("🔎 Analyzing… asking {tier} (cloud)", tier=escape(tier_label(progress.tier)))
    return tr.gettext("🔎 Analyzing… writing up the result")


def card(
    analysis: Analysis,
    receipt: Receipt,
    *,
    tr: Translator = EN,
    admin: bool = False,
    unit_orders: Sequence[OutboxEntry] = (),
    question: str | None = None,
) -> str:
    """The full reply for one analysis, in the reader's language, within Telegram's 4,096 visible characters.

    Read top to bottom by a person standing at a machine: what it is; how sure the answer is (a warning first
    when it is not sure); condition and priority; **safety**; what to do; the identifiers and what the plate
    confirmed; the details (summary, ratings) folded in an expandable quote; where the answer came from.
    The cost and the number of tiers tried are for admins (``admin``), not technicians.

    Composed of small blocks, each a list of ``Line``s whose HTML is complete on its own, so cutting lines never
    leaves a tag open. When the card is too long the least important lines go first (details, later actions);
    safety notes, the heading, the certainty and the receipt stay.
    """
    blocks = [
        question_block(analysis, question),  # the technician's question, answered, comes first
        _heading(analysis, receipt, tr),
        _safety(analysis, tr),
        _actions(analysis, tr),
        _identity(analysis, tr) + [Line(text, 8.5) for text in evidence_lines(analysis, receipt, tr, unit_orders)],
        _details(analysis, tr),
        [Line(n, 7) for n in _notes(receipt, tr)],
        [Line(f"<i>{escape(receipt_line(receipt, tr, admin=admin))}</i>", 10)],
    ]
    return fit(blocks, MAX_MESSAGE, tr)


@dataclass(frozen=True)
class Line:
    """One line of a card: complete HTML, and how much it matters when the card must be cut (higher stays)."""

    html: str
    weight: float
    header: bool = False  # a section title, dropped when its section has no line left


def question_block(analysis: Analysis, question: str | None) -> list[Line]:
    """The technician's question (the caption) and the model's answer to it, for the top of the card; nothing
    when there is no answer (a caption that asked nothing, like "drive tripped", is context, not a question)."""
    answer = clean_text(analysis.answer or "")
    if not answer:
        return []
    lines = [Line(f"❓ <i>{_field(question, 300)}</i>", 9.5)] if question and question.strip() else []
    lines.append(Line(f"💬 {escape(clip_utf16(answer, 800))}", 9.6))  # plain: four bold lines read poorly
    return lines


def _heading(analysis: Analysis, receipt: Receipt, tr: Translator) -> list[Line]:
    title = " ".join(_field(x, 120) for x in (analysis.manufacturer, analysis.model) if x)
    head = _field(analysis.equipment_type, 80)
    lines = [Line(f"<b>🔧 {head}{' — ' + title if title else ''}</b>", 10)]
    sure = round(receipt.confidence * 100)
    if receipt.low_confidence:
        lines.append(
            Line(tr.gettext("⚠️ <b>Not sure ({percent}%)</b>: check on the equipment before acting.", percent=sure), 10)
        )
    state = tr.gettext("{condition} · Priority: {priority}", condition=tr.gettext(_CONDITION[analysis.condition]),
                       priority=tr.gettext(_PRIORITY[analysis.priority]))  # fmt: skip
    if not receipt.low_confidence and receipt.source not in ("plate", "register"):
        state += " · " + tr.gettext("{percent}% sure", percent=sure)
    lines.append(Line(state, 10))
    return lines


def _identity(analysis: Analysis, tr: Translator) -> list[Line]:
    lines: list[Line] = []
    if analysis.serial_number:
        lines.append(Line(tr.gettext("Serial:") + f" <code>{_field(analysis.serial_number, 120)}</code>", 8))
    if analysis.fault_codes:
        codes = ", ".join(f"<code>{_field(c, 40)}</code>" for c in analysis.fault_codes[:_MAX_ITEMS])
        label = tr.gettext("Fault codes:")
        lines.append(Line(f"<b>{label}</b> {codes}", 8))
    return lines


def _details(analysis: Analysis, tr: Translator) -> list[Line]:
    """The summary and the ratings, folded: one expandable quote (one Line, so its markup is never cut)."""
    parts: list[str] = []
    summary = clean_text(analysis.summary)
    if summary:
        parts.append(escape(clip_utf16(summary, 1000)))
    if analysis.ratings:
        shown = list(analysis.ratings.items())[:12]
        ratings = " · ".join(f"{_field(k, 40)} {_field(v, 80)}" for k, v in shown)
        label = tr.gettext("Ratings:")
        parts.append(f"<b>{label}</b> {ratings}")
    if not parts:
        return []
    return [Line("<blockquote expandable>" + "\n".join(parts) + "</blockquote>", 5)]


def _actions(analysis: Analysis, tr: Translator) -> list[Line]:
    if not analysis.recommended_actions:
        return []
    items = analysis.recommended_actions
    title = tr.gettext("What to do")
    lines = [Line(f"<b>{title}</b>", 6, header=True)]
    lines += [Line(f"{i}. {_field(item, 300)}", 6 - i / 10) for i, item in enumerate(items[:_MAX_ITEMS], 1)]
    if len(items) > _MAX_ITEMS:
        more = len(items) - _MAX_ITEMS
        lines.append(Line(tr.ngettext("… and {n} more", "… and {n} more", more, n=more), 3))
    return lines


def _safety(analysis: Analysis, tr: Translator) -> list[Line]:
    if not analysis.safety_notes:
        return []
    title = tr.gettext("⚠️ Safety first")
    lines = [Line(f"<b>{title}</b>", 9, header=True)]
    lines += [Line(f"• {_field(note, 300)}", 9 - i / 100) for i, note in enumerate(analysis.safety_notes[:_MAX_ITEMS])]
    return lines


def _field(value: str, limit: int) -> str:
    """A model's value for one line: no control/bidi characters, no line breaks, bounded, escaped."""
    return escape(clip_utf16(clean_text(value, multiline=False), limit))


def receipt_line(receipt: Receipt, tr: Translator = EN, *, admin: bool = True) -> str:
    """Where the answer came from and how long it took; the cost and tiers tried only for admins."""
    seconds = f"{receipt.duration_ms / 1000:.1f} s"
    if receipt.source in ("plate", "register"):
        return plate_receipt_line(receipt, seconds)
    sure = tr.gettext("{percent}% sure", percent=round(receipt.confidence * 100))
    source = tier_label(receipt.tier, tr)
    if receipt.source == "cache":
        cached = tr.gettext("from an earlier analysis ({source})", source=source)
        paid = format_usd(receipt.cost_micro_usd) if receipt.cost_micro_usd else "$0"  # a question answered on it
        return f"{cached} · {sure} · {paid} · {seconds}" if admin else f"{cached} · {sure}"
    if not admin:
        return f"{source} · {sure} · {seconds}"
    tried = sum(1 for a in receipt.attempts if not a.outcome.startswith("skipped"))
    extra = f" · {tried} tiers tried" if tried > 1 else ""
    return f"{source} · {sure} · {format_usd(receipt.cost_micro_usd)} · {seconds}{extra}"


def _notes(receipt: Receipt, tr: Translator) -> list[str]:
    notes: list[str] = []
    if receipt.cache_match == "near" and receipt.cached_at is not None:
        notes.append(
            tr.gettext(
                "♻️ This matches a photo analysed on {when}. If it is a different unit or the display shows "
                "something else, tap <b>Re-check</b> for a fresh analysis.",
                when=_when(receipt.cached_at),
            )
        )
    if receipt.budget_limited:
        notes.append(tr.gettext("💸 Cloud analysis is paused by today's budget, so this answer may be less certain."))
    return notes


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


SHORTENED = N_("… shortened to fit one message: tap Re-check or see the work order for the rest.")


def fit(blocks: list[list[Line]], limit: int, tr: Translator = EN) -> str:
    """Join ``blocks`` (blank line between blocks) within ``limit`` visible UTF-16 units, dropping the lightest
    lines first (the later of equal ones); a note says the card was shortened."""
    lines = [(b, i, line) for b, block in enumerate(blocks) for i, line in enumerate(block)]

    def compose(kept: list[tuple[int, int, Line]], shortened: bool) -> str:
        by_block: dict[int, list[Line]] = {}
        for b, _, line in kept:
            by_block.setdefault(b, []).append(line)
        parts = [ls for ls in by_block.values() if not all(line.header for line in ls)]
        if shortened:
            parts.insert(len(parts) - 1, [Line(f"<i>{tr.gettext(SHORTENED)}</i>", 0)])
        return "\n\n".join("\n".join(line.html for line in ls) for ls in parts)

    text = compose(lines, False)
    while visible_length(text) > limit:
        candidates = [x for x in lines if not x[2].header and x[2].weight < 10]
        if not candidates:
            break  # only the heading and receipt are left; each is bounded, so this is unreachable
        lightest = min(candidates, key=lambda x: (x[2].weight, -x[0], -x[1]))
        lines.remove(lightest)
        text = compose(lines, True)
    return text


_TAG = re.compile(r"<[^>]*>")


def visible_text(html: str) -> str:
    """What Telegram shows for our HTML: tags removed, entities decoded (we only emit escaped text)."""
    return unescape(_TAG.sub("", html))


def visible_length(html: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entity parsing."""
    return utf16_len(visible_text(html))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip_utf16(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 units (an emoji outside the BMP counts two), never splitting a character."""
    if utf16_len(text) <= limit:
        return text
    out, used = [], 1  # room for the ellipsis
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > limit:
            break
        out.append(ch)
        used += size
    return "".join(out).rstrip() + "…"


def split_plain(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Plain text in pieces of at most ``limit`` UTF-16 units, cut at line breaks where possible (the
    fallback when Telegram refuses a card: nothing is lost, it arrives as several messages)."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            head = clip_utf16(line, limit)[:-1]
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
            line = line[len(head) :]
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) > limit:
            pieces.append(current)
            candidate = line
        current = candidate
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def file_too_big(size: int, limit: int) -> str:
    """Both sizes in MB (10⁶ bytes), the file's rounded up and the limit down, so the file always reads bigger
    (20 MiB is 20.9 MB, never "21 MB" next to a 21 MiB file shown as "22 MB")."""
    return (
        f"📷 That file is {math.ceil(size / 1e5) / 10:.1f} MB; I can take photos up to "
        f"{math.floor(limit / 1e5) / 10:.1f} MB. Send it as a photo (not a file) and Telegram will shrink it."
    )


def album_extra(tr: Translator, used: int, extra: int) -> str:
    return tr.ngettext(
        "ℹ️ I analyse up to {used} photos of one album together; the other {n} was not used. Send it separately "
        "if needed.",
        "ℹ️ I analyse up to {used} photos of one album together; the other {n} were not used. Send them "
        "separately if needed.",
        extra,
        used=used,
        n=extra,
    )


UNKNOWN_BUTTON = N_("That button no longer works. Please send the photo again.")
NOT_YOUR_CARD = N_("Only the person who sent this photo (or an admin) can use these buttons.")
EDIT_IGNORED = N_("✏️ I don't act on edited messages. Send it again as a new message (with the new caption or command).")
NOT_A_PHOTO = N_(
    "I work with photos 📷. Send a picture of a nameplate, a PLC, a drive display or a panel and I will "
    "analyse it. /help shows how."
)
PHOTO_GONE = N_("I no longer have that photo. Please send it again.")
RECHECK_ASKED = N_("Asking for a fresh analysis…")
WORK_ORDER_NOT_QUEUED = N_("😕 I could not queue the work order. Tap <b>Re-check</b> or try again later.")
ANSWER_LOST = N_(
    "😕 I have an answer, but Telegram would not let me show it. Your free photo was not used. Please try "
    "again; I will ask for a fresh analysis."
)
PLAIN_NOTE = N_("(Telegram would not display this answer with formatting, so here it is as plain text.)")


# ---- plans and payments (bot/accounts/payments.py) ----------------------------------------------------------------
PAYSUPPORT = N_(
    "<b>Help with payments</b>\n"
    "The unlimited plan is paid in Telegram Stars and renews every 30 days until you cancel it in Telegram "
    "(Settings → My Stars → your subscription). If a payment went wrong or you want a refund, write to your "
    "PLC Copilot admin with the date of the payment; admins can refund Stars payments. /usage shows your plan."
)
REFUNDED_STILL_PAID = N_(
    "↩️ Your Stars payment was refunded and the days it paid for were taken off: you still have unlimited photos "
    "until {date} (UTC). The subscription was cancelled, so nothing more will be charged. /upgrade to subscribe "
    "again."
)
REFUNDED_ENDED = N_(
    "↩️ Your Stars payment was refunded and the days it paid for were taken off: your plan has ended. The "
    "subscription was cancelled, so nothing more will be charged. /upgrade to subscribe again."
)
NOT_CREDITED = N_(
    "⚠️ Your payment arrived but could not be applied to your account: {problem} An admin has been told and will "
    "refund it. /paysupport for help."
)
THANKS = N_("⭐ Thank you! Unlimited photo analyses are on: paid until {date} (UTC). Send photos any time.")
RENEWED = N_("⭐ Your subscription was renewed: paid until {date} (UTC). Send photos any time.")


def refunded(paid_until: datetime | None, tr: Translator) -> str:
    """After a refund: what the refunded payment paid for was taken off; other paid days or grants remain."""
    if paid_until is None:
        return tr.gettext(REFUNDED_ENDED)
    return tr.gettext(REFUNDED_STILL_PAID, date=_date(paid_until))


def payment_not_credited(problem: str, tr: Translator) -> str:
    """``problem`` is already in the user's language (a ``pre_checkout_problem`` sentence, translated)."""
    return tr.gettext(NOT_CREDITED, problem=escape(problem))


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def thanks(paid_until: datetime, tr: Translator, *, renewal: bool) -> str:
    return tr.gettext(RENEWED if renewal else THANKS, date=_date(paid_until))
