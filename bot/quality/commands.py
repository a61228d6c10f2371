"""The admins' ``/quality [today|7d|30d|all]`` (accuracy by tier and model, as text and a chart) and
``/whatif [period] [CASCADE …]`` (the evaluation set replayed under the current and candidate cascades)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from bot.accounts import reports
from bot.chat import admin, handlers
from bot.i18n import N_
from bot.quality import evaluate, report
from pipeline import parse_cascade
from pipeline.tiers import TIER_NAMES

USAGE = N_("Usage: /quality [today|7d|30d|all]")
WHATIF_USAGE = N_(
    "Usage: /whatif [today|7d|30d|all] [CASCADE …]\n"
    "e.g. <code>/whatif 30d ollama:0.90,gemini:0.70,claude</code> — what that cascade would have cost and how "
    "often it would agree with the strongest tier, on the evaluation set (EVAL_SAMPLE_RATE), next to today's."
)
EMPTY = N_(
    "The evaluation set is empty for this period: set EVAL_SAMPLE_RATE (e.g. 0.02) so a share of photos is also "
    "asked of every tier, and let traffic arrive."
)
WHATIF_HEAD = N_("<b>🔮 What if, {period}</b>")
TELEGRAM_LIMIT = 4000


@admin.admin_only
async def quality_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user, args = update.effective_message, update.effective_user, context.args or []
    assert message is not None and user is not None
    services = handlers.services_of(context)
    tr = await services.translator(user.id)
    period = reports.PERIODS.get(args[0].lower() if args else "7d")
    if period is None or len(args) > 1:
        await message.reply_text(tr.gettext(USAGE))
        return
    async with services.sessions() as session:
        built = await report.build_report(session, period, datetime.now(UTC))
    await message.reply_text(report.report_text(built, tr))
    if built.tiers:
        named = tr.gettext(reports.PERIOD_LABELS[period])
        title = tr.gettext(report.CHART_TITLE, period=named)
        png = await asyncio.to_thread(report.chart_png, built.tiers, title, tr)
        await message.reply_photo(png, caption=tr.gettext(report.CHART_CAPTION, period=named))


@admin.admin_only
async def whatif_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The what-if of ``plc-copilot eval`` in Telegram: replaying recorded answers costs nothing."""
    message, user, args = update.effective_message, update.effective_user, list(context.args or [])
    assert message is not None and user is not None
    services = handlers.services_of(context)
    tr = await services.translator(user.id)
    period = reports.PERIODS.get(args[0].lower()) if args else None
    if period is not None:
        args = args[1:]
    known = frozenset(TIER_NAMES)
    try:
        for spec in args:
            parse_cascade(spec, known=known)
    except ValueError as exc:
        await message.reply_text(f"{escape(str(exc))}\n{tr.gettext(WHATIF_USAGE)}")
        return
    since = reports.period_start(period or "30d", datetime.now(UTC))
    async with services.sessions() as session:
        cases = await evaluate.ledger_cases(session, since)
    if not cases:
        await message.reply_text(tr.gettext(EMPTY))
        return
    current = services.settings.pipeline.cascade
    text = evaluate.report(
        cases, current=current, extra=args, reference=parse_cascade(current, known=known)[-1].tier,
        max_loss=0.02, basis="strongest", top=5, tr=tr,
    )  # fmt: skip
    named = reports.PERIOD_LABELS[period or "30d"]
    head = tr.gettext(WHATIF_HEAD, period=tr.gettext(named))
    await message.reply_text(f"{head}\n<pre>{escape(text)[:TELEGRAM_LIMIT]}</pre>")
