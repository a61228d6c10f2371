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
from bot.quality import evaluate, report
from pipeline import parse_cascade
from pipeline.tiers import TIER_NAMES

USAGE = "Usage: /quality [today|7d|30d|all]"
WHATIF_USAGE = (
    "Usage: /whatif [today|7d|30d|all] [CASCADE …]\n"
    "e.g. <code>/whatif 30d ollama:0.90,gemini:0.70,claude</code> — what that cascade would have cost and how "
    "often it would agree with the strongest tier, on the evaluation set (EVAL_SAMPLE_RATE), next to today's."
)
EMPTY = (
    "The evaluation set is empty for this period: set EVAL_SAMPLE_RATE (e.g. 0.02) so a share of photos is also "
    "asked of every tier, and let traffic arrive."
)
TELEGRAM_LIMIT = 4000


@admin.admin_only
async def quality_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, args = update.effective_message, context.args or []
    assert message is not None
    period = reports.PERIODS.get(args[0].lower() if args else "7d")
    if period is None or len(args) > 1:
        await message.reply_text(USAGE)
        return
    services = handlers.services_of(context)
    async with services.sessions() as session:
        built = await report.build_report(session, period, datetime.now(UTC))
    await message.reply_text(report.report_text(built))
    if built.tiers:
        png = await asyncio.to_thread(report.chart_png, built.tiers, f"Accuracy by tier and model, {period}")
        await message.reply_photo(png, caption=f"Accepted vs judged wrong, {period}")


@admin.admin_only
async def whatif_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The what-if of ``plc-copilot eval`` in Telegram: replaying recorded answers costs nothing."""
    message, args = update.effective_message, list(context.args or [])
    assert message is not None
    period = reports.PERIODS.get(args[0].lower()) if args else None
    if period is not None:
        args = args[1:]
    known = frozenset(TIER_NAMES)
    try:
        for spec in args:
            parse_cascade(spec, known=known)
    except ValueError as exc:
        await message.reply_text(f"{escape(str(exc))}\n{WHATIF_USAGE}")
        return
    services = handlers.services_of(context)
    since = reports.period_start(period or "30d", datetime.now(UTC))
    async with services.sessions() as session:
        cases = await evaluate.ledger_cases(session, since)
    if not cases:
        await message.reply_text(EMPTY)
        return
    current = services.settings.pipeline.cascade
    text = evaluate.report(
        cases, current=current, extra=args, reference=parse_cascade(current, known=known)[-1].tier,
        max_loss=0.02, basis="strongest", top=5,
    )  # fmt: skip
    await message.reply_text(f"<b>🔮 What if, {period or '30d'}</b>\n<pre>{escape(text)[:TELEGRAM_LIMIT]}</pre>")
