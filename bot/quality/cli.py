"""Terminal versions of the quality tools: ``plc-copilot quality`` (and, as they land, ``eval``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.settings import AppSettings


async def quality_report(settings: AppSettings, period: str, chart: Path | None) -> int:
    from bot import reports
    from bot.cli import plain
    from bot.db import make_engine, make_sessionmaker, upgrade_async
    from bot.quality import report

    await upgrade_async(settings.bot.database_url)
    engine = make_engine(settings.bot.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            built = await report.build_report(session, reports.PERIODS[period], datetime.now(UTC))
    finally:
        await engine.dispose()
    print(plain(report.report_text(built)))
    if chart is not None:
        png = await asyncio.to_thread(report.chart_png, built.tiers, f"Accuracy by tier and model, {period}")
        await asyncio.to_thread(chart.write_bytes, png)
        print(f"chart written to {chart}", file=sys.stderr)
    return 0


def _quality_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("period", nargs="?", default="7d", choices=["today", "7d", "30d", "all"])
    parser.add_argument("--chart", type=Path, default=None, help="also write the chart to this PNG")


QUALITY = (
    "the admins' /quality report: accuracy by tier and model",
    _quality_arguments,
    lambda settings, args: asyncio.run(quality_report(settings, args.period, args.chart)),
)
