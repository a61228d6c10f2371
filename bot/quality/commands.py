"""The admins' ``/quality [today|7d|30d|all]``: accuracy by tier and model, as text and a chart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import ContextTypes

from bot.accounts import reports
from bot.chat import admin, handlers
from bot.quality import report

USAGE = "Usage: /quality [today|7d|30d|all]"


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
