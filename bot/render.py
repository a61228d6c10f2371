"""What the technician reads: the analysis card, status lines and receipts, as Telegram HTML.

Pure functions. Every value that came from a model or a user is escaped; the card never shows JSON or markdown.
Telegram rejects messages over 4096 characters, so long lists are cut with a note rather than failing the send.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from pipeline.costs import format_usd
from pipeline.types import Analysis, Progress, Receipt

MAX_MESSAGE = 4096
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
    if progress.stage == "tier":
        if progress.is_local:
            return "🔎 Analyzing… asking the local model"
        return f"🔎 Analyzing… asking {escape(tier_label(progress.tier))} (cloud)"
    return "🔎 Analyzing… writing up the result"


def card(analysis: Analysis, receipt: Receipt) -> str:
    """The full reply for one analysis."""
    lines: list[str] = []
    title = " ".join(x for x in (analysis.manufacturer, analysis.model) if x)
    head = escape(analysis.equipment_type)
    lines.append(f"<b>🔧 {head}{' — ' + escape(title) if title else ''}</b>")
    if analysis.serial_number:
        lines.append(f"Serial: <code>{escape(analysis.serial_number)}</code>")
    lines.append(f"Condition: {_CONDITION[analysis.condition]} · Priority: {_PRIORITY[analysis.priority]}")
    if analysis.fault_codes:
        lines.append("<b>Fault codes:</b> " + ", ".join(f"<code>{escape(c)}</code>" for c in analysis.fault_codes))
    if analysis.ratings:
        ratings = " · ".join(f"{escape(k)} {escape(v)}" for k, v in list(analysis.ratings.items())[:12])
        lines.append(f"<b>Ratings:</b> {ratings}")
    if analysis.summary.strip():
        lines.append("")
        lines.append(escape(analysis.summary.strip()))
    if analysis.recommended_actions:
        lines.append("")
        lines.append("<b>What to do</b>")
        lines.extend(_numbered(analysis.recommended_actions))
    if analysis.safety_notes:
        lines.append("")
        lines.append("<b>⚠️ Safety</b>")
        lines.extend(f"• {escape(note)}" for note in analysis.safety_notes[:_MAX_ITEMS])
    notes = _notes(receipt)
    if notes:
        lines.append("")
        lines.extend(notes)
    lines.append("")
    lines.append(f"<i>{escape(receipt_line(receipt))}</i>")
    return _fit("\n".join(lines))


def receipt_line(receipt: Receipt) -> str:
    seconds = f"{receipt.duration_ms / 1000:.1f} s"
    if receipt.source == "cache":
        return f"from cache ({tier_label(receipt.tier)} earlier) · confidence {receipt.confidence:.0%} · $0 · {seconds}"
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


def _numbered(items: list[str]) -> list[str]:
    shown = [f"{i}. {escape(item)}" for i, item in enumerate(items[:_MAX_ITEMS], start=1)]
    if len(items) > _MAX_ITEMS:
        shown.append(f"… and {len(items) - _MAX_ITEMS} more")
    return shown


def _fit(text: str) -> str:
    """Cut at a line boundary so no tag is split; the receipt line is kept."""
    if len(text) <= MAX_MESSAGE:
        return text
    *body, receipt = text.split("\n")
    note = "… (shortened)"
    kept: list[str] = []
    budget = MAX_MESSAGE - len(receipt) - len(note) - 4
    for line in body:
        if len(line) + 1 > budget:
            break
        kept.append(line)
        budget -= len(line) + 1
    return "\n".join([*kept, note, "", receipt])


WELCOME = (
    "👋 <b>PLC Copilot</b> reads equipment photos for maintenance technicians.\n\n"
    "Send me a photo of a <b>motor nameplate</b>, a <b>PLC</b>, a <b>drive showing a fault code</b> or a "
    "<b>panel</b>. I will tell you what it is, what the fault means, what to do and what to watch out for.\n"
    "Tips: fill the frame with the label or display, avoid glare, add a caption if you have a question. "
    "Up to 4 photos of the same equipment can go in one album."
)

HELP = (
    "<b>How to use PLC Copilot</b>\n"
    "• Send a photo (or an image file: JPEG, PNG, WebP, HEIC).\n"
    "• Add a caption to ask something specific, e.g. <i>why does it trip on start?</i>\n"
    "• An album of up to 4 photos is analysed together.\n"
    "• <b>Re-check</b> under a result asks for a fresh analysis.\n\n"
    "/start – what I do and your free photos\n/help – this message"
)

NOT_A_PHOTO = (
    "I work with photos 📷. Send a picture of a nameplate, a PLC, a drive display or a panel and I will "
    "analyse it. /help shows how."
)


def free_photos_line(plan: str, left: int) -> str:
    if plan == "admin":
        return "You are an admin: no photo limit."
    if plan == "paid":
        return "Your plan: unlimited photos."
    if left == 0:
        return "You have used your free photos. Photos I have already analysed are still answered free."
    return f"You have <b>{left}</b> free photo {'analysis' if left == 1 else 'analyses'} left."


# ---- plans and payments (bot/payments.py) ----------------------------------------------------------------
PAYSUPPORT = (
    "<b>Help with payments</b>\n"
    "The unlimited plan is paid in Telegram Stars and renews every 30 days until you cancel it in Telegram "
    "(Settings → My Stars → your subscription). If a payment went wrong or you want a refund, write to your "
    "PLC Copilot admin with the date of the payment; admins can refund Stars payments. /usage shows your plan."
)

REFUNDED = "↩️ Your Stars payment was refunded and your unlimited plan has ended. /upgrade to subscribe again."

BUDGET_PAUSED = (
    "💸 Cloud analysis is paused: today's spending budget is used up and no local model is available. "
    "Your free photo was not used. Photos I have already analysed are still answered; please try again tomorrow."
)


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def upgrade_offer(price: int) -> str:
    return (
        f"⭐ <b>Unlimited photo analyses</b> for {price} Telegram Stars per 30 days, renewed monthly until you "
        "cancel. Tap the button to pay in Telegram. Questions: /paysupport"
    )


def already_paid(paid_until: datetime) -> str:
    return f"✅ You have unlimited photos until {_date(paid_until)} (UTC). /paysupport for help with payments."


def thanks(paid_until: datetime, *, renewal: bool) -> str:
    what = "Your subscription was renewed" if renewal else "Thank you! Unlimited photo analyses are on"
    return f"⭐ {what}: paid until {_date(paid_until)} (UTC). Send photos any time."


def usage_text(plan: str, *, used: int, limit: int, paid_until: datetime | None) -> str:
    lines = ["<b>Your usage</b>", f"Free analyses used: {used} of {limit} · left: {max(0, limit - used)}"]
    if plan == "admin":
        lines.append("You are an admin: no photo limit.")
    elif plan == "paid" and paid_until is not None:
        lines.append(f"Unlimited plan: paid until {_date(paid_until)} (UTC).")
    else:
        if paid_until is not None:
            lines.append(f"Your unlimited plan ended on {_date(paid_until)}.")
        lines.append("/upgrade for unlimited photos. Cache hits and failed analyses never count.")
    return "\n".join(lines)
