"""What a user reads about the bot and their own account, in their language: /start, /help, /usage, /upgrade,
/language, the free-analysis quota and the re-check confirmation.

Pure functions of a ``Translator`` and values, returning Telegram HTML. Every sentence goes through the
catalogue (bot/i18n); dates are ISO (``2026-12-01``), which reads the same in every language.
"""

from __future__ import annotations

from datetime import datetime

from bot.accounts.quota import Standing
from bot.i18n import LANGUAGES, N_, Translator

# The buttons under a card (bot/chat/workorders.py), named the same way in /help.
CREATE_WORK_ORDER = N_("📝 Create work order")
DISMISS = N_("✖ Dismiss")
RECHECK = N_("🔁 Wrong? Re-check")

# Admin commands for /help, in the order shown; only those actually registered are listed.
ADMIN_COMMANDS: dict[str, str] = {
    "cost": N_("/cost [today|7d|30d|all] – spend, cache hits and savings, with a chart"),
    "budget": N_("/budget – today's spend and caps; /budget daily 5.00 sets the daily cap"),
    "quality": N_("/quality [today|7d|30d|all] – accuracy by tier and model, feedback, canary"),
    "whatif": N_("/whatif [period] [CASCADE …] – what another cascade or threshold would cost, replayed"),
    "grant": N_("/grant USER_ID DAYS – unlimited photos for a user"),
    "refund": N_("/refund CHARGE_ID – refund a Stars payment"),
    "outbox": N_("/outbox – work orders waiting to be delivered"),
    "reviews": N_("/reviews – work orders waiting for an admin's approval"),
}


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def free_left(tr: Translator, left: int) -> str:
    return tr.ngettext(
        "You have <b>{n}</b> free photo analysis left.", "You have <b>{n}</b> free photo analyses left.", left, n=left
    )


def standing_line(tr: Translator, standing: Standing) -> str:
    """One sentence on what the user may still do; it never mixes a free count with an unlimited plan."""
    if standing.plan == "admin":
        return tr.gettext("You are an admin: no photo limit.")
    if standing.plan == "paid" and standing.paid_until is not None:
        return tr.gettext("Your plan: unlimited photos until {date} (UTC).", date=_date(standing.paid_until))
    if standing.free_left == 0:
        return tr.gettext(
            "You have used your free photo analyses. Photos I have already analysed are still answered free. "
            "/upgrade for unlimited photos."
        )
    return free_left(tr, standing.free_left)


def welcome(tr: Translator, standing: Standing) -> str:
    return "\n\n".join(
        [
            tr.gettext(
                "👋 <b>PLC Copilot</b> reads equipment photos for maintenance technicians.\n\n"
                "Send me a photo of a <b>motor nameplate</b>, a <b>PLC</b>, a <b>drive showing a fault code</b> "
                "or a <b>panel</b>. I will tell you what it is, what the fault means, what to do and what to "
                "watch out for."
            ),
            standing_line(tr, standing),
            tr.gettext("/help shows how to take a good photo and what the buttons do."),
        ]
    )


def help_text(
    tr: Translator, *, free_photos: int, stars_price: int, auto_work_order: bool, admin_commands: list[str] | None
) -> str:
    """/help: what to send, what the buttons do, the quota and plans, the commands; admins also get theirs."""
    buttons = (
        [tr.gettext("• A work order is filed for every answer automatically.")]
        if auto_work_order
        else [
            tr.gettext(
                "• <b>{button}</b>: files the answer in your maintenance system.",
                button=tr.gettext(CREATE_WORK_ORDER),
            ),
            tr.gettext("• <b>{button}</b>: no work order for this one.", button=tr.gettext(DISMISS)),
        ]
    )
    sections = [
        "\n".join(
            [
                tr.gettext("📷 <b>What to send</b>"),
                tr.gettext(
                    "• A photo of a nameplate, a PLC, a drive display or a panel, or an image file "
                    "(JPEG, PNG, WebP, HEIC)."
                ),
                tr.gettext("• Fill the frame with the label or display, and avoid glare."),
                tr.gettext("• Add a caption to ask something, e.g. <i>why does it trip on start?</i>"),
                tr.gettext(
                    "• Reply to an answer with a question to ask more about it, or send a question about equipment "
                    "as text, e.g. <i>what does F004 mean on a PowerFlex 525?</i>"
                ),
                tr.gettext("• Up to 4 photos of the same equipment can go in one album."),
            ]
        ),
        "\n".join(
            [
                tr.gettext("🔘 <b>The buttons under an answer</b>"),
                *buttons,
                tr.gettext(
                    "• <b>{button}</b>: a fresh analysis of the same photo. It counts as one analysis; "
                    "I ask before using a free one.",
                    button=tr.gettext(RECHECK),
                ),
            ]
        ),
        "\n".join(
            [
                tr.gettext("🎟 <b>Free analyses and plans</b>"),
                tr.ngettext(
                    "• {n} free photo analysis to start. Photos I have already analysed, and analyses that fail, "
                    "are free.",
                    "• {n} free photo analyses to start. Photos I have already analysed, and analyses that fail, "
                    "are free.",
                    free_photos,
                    n=free_photos,
                ),
                tr.gettext("• Unlimited photos: {price} Telegram Stars per 30 days, see /upgrade.", price=stars_price),
            ]
        ),
        "\n".join(
            [
                tr.gettext("⌨️ <b>Commands</b>"),
                tr.gettext("/usage – your free analyses and plan"),
                tr.gettext("/upgrade – unlimited photos"),
                tr.gettext("/language – the language I answer in"),
                tr.gettext("/workorders – your recent work orders"),
                tr.gettext("/paysupport – help with payments"),
                tr.gettext("/start – what I do"),
            ]
        ),
    ]
    if admin_commands:
        lines = [tr.gettext(ADMIN_COMMANDS[name]) for name in ADMIN_COMMANDS if name in admin_commands]
        sections.append("\n".join([tr.gettext("🛠 <b>Admin commands</b>"), *lines]))
    return "\n\n".join([tr.gettext("<b>How to use PLC Copilot</b>"), *sections])


def usage(tr: Translator, standing: Standing, *, limit: int, questions_limit: int, questions_left: int | None) -> str:
    """/usage. The free counts (photos, and today's questions) are shown only on the free plan, where they are the
    limits that apply; ``questions_left`` is None when the caller did not count them (not the free plan)."""
    lines = [tr.gettext("<b>Your usage</b>")]
    if standing.plan == "admin":
        lines.append(tr.gettext("You are an admin: no photo limit."))
    elif standing.plan == "paid" and standing.paid_until is not None:
        lines.append(tr.gettext("Unlimited plan: paid until {date} (UTC).", date=_date(standing.paid_until)))
    else:
        lines.append(
            tr.gettext(
                "Free analyses: {used} of {limit} used, <b>{left}</b> left.",
                used=standing.free_used,
                limit=limit,
                left=standing.free_left,
            )
        )
        if questions_left is not None and questions_limit > 0:  # 0: the free plan asks no questions at all
            lines.append(
                tr.gettext(
                    "Free questions today: {used} of {limit} used, <b>{left}</b> left.",
                    used=max(0, questions_limit - questions_left),
                    limit=questions_limit,
                    left=questions_left,
                )
            )
        if standing.paid_until is not None:
            lines.append(tr.gettext("Your unlimited plan ended on {date}.", date=_date(standing.paid_until)))
        lines.append(
            tr.gettext("/upgrade for unlimited photos. Photos I have already analysed and failed analyses never count.")
        )
    return "\n".join(lines)


def upgrade_offer(tr: Translator, price: int) -> str:
    return tr.gettext(
        "⭐ <b>Unlimited photo analyses</b> for {price} Telegram Stars per 30 days, renewed monthly until you "
        "cancel. Tap the button to pay in Telegram. Questions: /paysupport",
        price=price,
    )


def already_paid(tr: Translator, paid_until: datetime) -> str:
    return tr.gettext(
        "✅ You have unlimited photos until {date} (UTC). /paysupport for help with payments.", date=_date(paid_until)
    )


def quota_used_up(tr: Translator, free_photos: int) -> str:
    return tr.ngettext(
        "🔒 You have used your {n} free photo analysis. Photos I have already analysed are still answered free.",
        "🔒 You have used your {n} free photo analyses. Photos I have already analysed are still answered free.",
        free_photos,
        n=free_photos,
    )


def upgrade_hint(tr: Translator) -> str:
    return tr.gettext("Send /upgrade for unlimited photos.")


def card_quota_line(tr: Translator, left: int, *, charged: bool = True) -> str:
    """Under a card on the free plan: what is left after this answer (``charged``: whether it used one)."""
    if left == 0 and not charged:
        return tr.gettext("🎟 No free analyses left; photos I have already analysed stay free. /upgrade for more.")
    if left == 0:
        return tr.gettext("🎟 That was your last free analysis. /upgrade for unlimited photos.")
    return tr.ngettext("🎟 {n} free analysis left.", "🎟 {n} free analyses left.", left, n=left)


def recheck_question(tr: Translator, left: int) -> str:
    return tr.gettext(
        "🔁 A re-check is a fresh analysis: it uses one of your free analyses (you have {n} left).", n=left
    )


def recheck_buttons(tr: Translator) -> tuple[str, str]:
    return tr.gettext("🔁 Re-check (uses 1)"), tr.gettext("Keep this answer")


def recheck_kept(tr: Translator) -> str:
    return tr.gettext("👍 Kept the answer; no free analysis was used.")


def recheck_impossible(tr: Translator) -> str:
    return tr.gettext(
        "A re-check is a fresh analysis, and your free analyses are used up. Send /upgrade for unlimited photos."
    )


def language_menu(tr: Translator, *, automatic: bool) -> str:
    current = LANGUAGES[tr.code]
    if automatic:
        return tr.gettext("🌐 I answer in {language}, the language of your Telegram app. Choose:", language=current)
    return tr.gettext("🌐 I answer in {language}. Choose another language:", language=current)


def language_automatic_button(tr: Translator) -> str:
    return tr.gettext("Automatic (Telegram's language)")


def language_set(tr: Translator) -> str:
    return tr.gettext(
        "🌐 From now on I answer in {language}, and I ask the analysis models to write in it too.",
        language=LANGUAGES[tr.code],
    )


def language_unknown(tr: Translator) -> str:
    return tr.gettext("Usage: /language, or /language {codes}", codes=" | ".join([*LANGUAGES, "auto"]))


# ---- when a photo gets no answer ------------------------------------------------------------------------------
def failure_kind(outcomes: list[str]) -> str:
    """Why no tier answered, from the attempts' outcomes (pure): ``unreadable`` when a model answered but its
    answer was unusable; ``budget`` when the budget refused the cloud and the rest failed; else ``unreachable``."""
    tried = [o for o in outcomes if not o.startswith("skipped")]
    if "bad_output" in tried:
        return "unreadable"
    if "skipped_budget" in outcomes:
        return "budget"
    return "unreachable"


def analysis_failed(tr: Translator, kind: str, *, free_plan: bool) -> str:
    """What happened, in one or two sentences; whether a free photo was used only for those who have them."""
    if kind == "budget":
        text = tr.gettext(
            "💸 Cloud analysis is paused: today's spending budget is used up and the local model could not answer. "
            "Photos I have already analysed are still answered; please try again tomorrow."
        )
    elif kind == "unreadable":
        text = tr.gettext(
            "😕 I couldn't get a reliable reading of this photo. Please try again, ideally with the label or "
            "display filling the frame."
        )
    elif kind == "unreachable":
        text = tr.gettext("😕 I can't reach my analysis services right now. Please try again in a few minutes.")
    else:
        text = tr.gettext("😕 Something went wrong on my side. Please try again.")
    if free_plan:
        text += " " + tr.gettext("Your free photo was not used.")
    return text
