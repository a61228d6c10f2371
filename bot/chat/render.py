"""What the technician reads: the analysis card, status lines and receipts, as Telegram HTML.

Pure functions. Every value that came from a model or a user is cleaned (no control or bidi-override
characters) and escaped; the card never shows JSON or markdown. Telegram refuses a message over 4,096 (a
caption over 1,024) UTF-16 code units of *visible* text, so lengths are measured that way (``visible_length``)
and a long card is cut by whole lines, least important first, rather than failing the send.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from html import escape, unescape

from bot.chat.evidence import evidence_lines, plate_receipt_line
from pipeline.costs import format_usd
from pipeline.sanitize import clean_text
from pipeline.types import Analysis, Progress, Receipt

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
_MAX_ITEMS = 8

_CONDITION = {"normal": "✅ Normal", "warning": "⚠️ Warning", "fault": "🛑 Fault", "unknown": "❔ Unknown"}
_PRIORITY = {"low": "Low", "medium": "Medium", "high": "High", "urgent": "🚨 Urgent"}
_TIER_LABEL = {
    "ollama": "local model",
    "gemini": "Gemini",
    "grok": "Grok",
    "claude": "Claude",
    "openai": "OpenAI",
}


def tier_label(tier: str | None) -> str:
    return _TIER_LABEL.get(tier or "", tier or "?")


def status_text(progress: Progress) -> str:
    if progress.stage == "cache":
        return "🔎 Analyzing… checking photos I have seen before"
    if progress.stage == "plate":
        return "🔎 Analyzing… reading the nameplate"
    if progress.stage == "tier":
        if progress.is_local:
            return "🔎 Analyzing… asking the local model"
        return f"🔎 Analyzing… asking {escape(tier_label(progress.tier))} (cloud)"
    return "🔎 Analyzing… writing up the result"


def card(analysis: Analysis, receipt: Receipt) -> str:
    """The full reply for one analysis, within Telegram's 4,096 visible characters.

    Composed of small blocks (heading, summary, actions, safety, notes, receipt), each a list of ``Line``s
    whose HTML is complete on its own line, so cutting lines never leaves a tag open. When the card is too
    long, the least important lines go first (later actions, then ratings and the summary); safety notes,
    the heading and the receipt stay.
    """
    blocks = [
        _heading(analysis),
        [Line(text, 8.5) for text in evidence_lines(analysis, receipt)],  # what the plate confirms or disputes
        _summary(analysis),
        _actions(analysis),
        _safety(analysis),
        [Line(n, 7) for n in _notes(receipt)],
        [Line(f"<i>{escape(receipt_line(receipt))}</i>", 10)],
    ]
    return fit(blocks, MAX_MESSAGE)


@dataclass(frozen=True)
class Line:
    """One line of a card: complete HTML, and how much it matters when the card must be cut (higher stays)."""

    html: str
    weight: float
    header: bool = False  # a section title, dropped when its section has no line left


def _heading(analysis: Analysis) -> list[Line]:
    title = " ".join(_field(x, 120) for x in (analysis.manufacturer, analysis.model) if x)
    head = _field(analysis.equipment_type, 80)
    lines = [Line(f"<b>🔧 {head}{' — ' + title if title else ''}</b>", 10)]
    if analysis.serial_number:
        lines.append(Line(f"Serial: <code>{_field(analysis.serial_number, 120)}</code>", 8))
    lines.append(Line(f"Condition: {_CONDITION[analysis.condition]} · Priority: {_PRIORITY[analysis.priority]}", 10))
    if analysis.fault_codes:
        codes = ", ".join(f"<code>{_field(c, 40)}</code>" for c in analysis.fault_codes[:_MAX_ITEMS])
        lines.append(Line(f"<b>Fault codes:</b> {codes}", 8))
    if analysis.ratings:
        shown = list(analysis.ratings.items())[:12]
        ratings = " · ".join(f"{_field(k, 40)} {_field(v, 80)}" for k, v in shown)
        lines.append(Line(f"<b>Ratings:</b> {ratings}", 4))
    return lines


def _summary(analysis: Analysis) -> list[Line]:
    summary = clean_text(analysis.summary)
    if not summary:
        return []
    return [Line(escape(clip_utf16(summary, 1000)), 5.5)]


def _actions(analysis: Analysis) -> list[Line]:
    if not analysis.recommended_actions:
        return []
    items = analysis.recommended_actions
    lines = [Line("<b>What to do</b>", 6, header=True)]
    lines += [Line(f"{i}. {_field(item, 300)}", 6 - i / 10) for i, item in enumerate(items[:_MAX_ITEMS], 1)]
    if len(items) > _MAX_ITEMS:
        lines.append(Line(f"… and {len(items) - _MAX_ITEMS} more", 3))
    return lines


def _safety(analysis: Analysis) -> list[Line]:
    if not analysis.safety_notes:
        return []
    lines = [Line("<b>⚠️ Safety</b>", 9, header=True)]
    lines += [Line(f"• {_field(note, 300)}", 9 - i / 100) for i, note in enumerate(analysis.safety_notes[:_MAX_ITEMS])]
    return lines


def _field(value: str, limit: int) -> str:
    """A model's value for one line: no control/bidi characters, no line breaks, bounded, escaped."""
    return escape(clip_utf16(clean_text(value, multiline=False), limit))


def receipt_line(receipt: Receipt) -> str:
    seconds = f"{receipt.duration_ms / 1000:.1f} s"
    if receipt.source == "cache":
        return f"from cache ({tier_label(receipt.tier)} earlier) · confidence {receipt.confidence:.0%} · $0 · {seconds}"
    if receipt.source in ("plate", "register"):
        return plate_receipt_line(receipt, seconds)
    tried = sum(1 for a in receipt.attempts if not a.outcome.startswith("skipped"))
    extra = f" · {tried} tiers tried" if tried > 1 else ""
    return (
        f"{tier_label(receipt.tier)} · confidence {receipt.confidence:.0%} · "
        f"{format_usd(receipt.cost_micro_usd)} · {seconds}{extra}"
    )


def _notes(receipt: Receipt) -> list[str]:
    notes: list[str] = []
    if receipt.cache_match == "near" and receipt.cached_at is not None:
        notes.append(
            f"♻️ This matches a photo analysed on {_when(receipt.cached_at)}. If it is a different unit or the "
            "display shows something else, tap <b>Re-check</b> for a fresh analysis."
        )
    if receipt.low_confidence:
        notes.append("⚠️ <b>Low confidence</b>: verify the details on the equipment before acting.")
    if receipt.budget_limited:
        notes.append("💸 Cloud analysis is paused by today's budget, so this answer may be less certain.")
    return notes


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


SHORTENED = "<i>… shortened to fit one message: tap Re-check or see the work order for the rest.</i>"


def fit(blocks: list[list[Line]], limit: int) -> str:
    """Join ``blocks`` (blank line between blocks) within ``limit`` visible UTF-16 units, dropping the lightest
    lines first (the later of equal ones); a note says the card was shortened."""
    lines = [(b, i, line) for b, block in enumerate(blocks) for i, line in enumerate(block)]

    def compose(kept: list[tuple[int, int, Line]], shortened: bool) -> str:
        by_block: dict[int, list[Line]] = {}
        for b, _, line in kept:
            by_block.setdefault(b, []).append(line)
        parts = [ls for ls in by_block.values() if not all(line.header for line in ls)]
        if shortened:
            parts.insert(len(parts) - 1, [Line(SHORTENED, 0)])
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


def album_extra(used: int, extra: int) -> str:
    return (
        f"ℹ️ I analyse up to {used} photos of one album together; the other {extra} "
        f"{'was' if extra == 1 else 'were'} not used. Send {'it' if extra == 1 else 'them'} separately if needed."
    )


UNKNOWN_BUTTON = "That button no longer works. Please send the photo again."
NOT_YOUR_CARD = "Only the person who sent this photo (or an admin) can use these buttons."
EDIT_IGNORED = "✏️ I don't act on edited messages. Send it again as a new message (with the new caption or command)."

NOT_A_PHOTO = (
    "I work with photos 📷. Send a picture of a nameplate, a PLC, a drive display or a panel and I will "
    "analyse it. /help shows how."
)


# ---- plans and payments (bot/accounts/payments.py) ----------------------------------------------------------------
PAYSUPPORT = (
    "<b>Help with payments</b>\n"
    "The unlimited plan is paid in Telegram Stars and renews every 30 days until you cancel it in Telegram "
    "(Settings → My Stars → your subscription). If a payment went wrong or you want a refund, write to your "
    "PLC Copilot admin with the date of the payment; admins can refund Stars payments. /usage shows your plan."
)


def refunded(paid_until: datetime | None) -> str:
    """After a refund: what the refunded payment paid for was taken off; other paid days or grants remain."""
    rest = f"you still have unlimited photos until {_date(paid_until)} (UTC)" if paid_until else "your plan has ended"
    return (
        f"↩️ Your Stars payment was refunded and the days it paid for were taken off: {rest}. The subscription "
        "was cancelled, so nothing more will be charged. /upgrade to subscribe again."
    )


def payment_not_credited(problem: str) -> str:
    return (
        f"⚠️ Your payment arrived but could not be applied to your account: {problem} An admin has been told "
        "and will refund it. /paysupport for help."
    )


BUDGET_PAUSED = (
    "💸 Cloud analysis is paused: today's spending budget is used up and no local model is available. "
    "Your free photo was not used. Photos I have already analysed are still answered; please try again tomorrow."
)


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def thanks(paid_until: datetime, *, renewal: bool) -> str:
    what = "Your subscription was renewed" if renewal else "Thank you! Unlimited photo analyses are on"
    return f"⭐ {what}: paid until {_date(paid_until)} (UTC). Send photos any time."
