"""Terminal versions of the quality tools: ``plc-copilot quality`` (and, as they land, ``eval``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.runtime.settings import AppSettings


async def quality_report(settings: AppSettings, period: str, chart: Path | None) -> int:
    from bot.accounts import reports
    from bot.cli.main import plain
    from bot.quality import report
    from bot.runtime.db import make_engine, make_sessionmaker, upgrade_async

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


def _eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("period", nargs="?", default="30d", choices=["today", "7d", "30d", "all"])
    parser.add_argument("--photos", type=Path, default=None, help="a folder of photos to evaluate instead")
    parser.add_argument("--labels", type=Path, default=None, help="JSON: photo file name → the fields checked")
    parser.add_argument("--candidate", action="append", default=[], help="a CASCADE to compare (repeatable)")
    parser.add_argument("--reference", default=None, help="the strongest tier (default: CASCADE's last)")
    parser.add_argument("--max-loss", type=float, default=0.02, help="accuracy one may give up (default 0.02)")
    parser.add_argument(
        "--basis", default=None, choices=["strongest", "feedback", "plate", "labels"],
        help="the accuracy the recommendation keeps (default: labels with --photos, else strongest)",
    )  # fmt: skip
    parser.add_argument("--top", type=int, default=8, help="frontier candidates to show")


def _eval(settings: AppSettings, args: argparse.Namespace) -> int:
    from bot.quality.evaluate import run_eval

    if (args.photos is None) != (args.labels is None):
        print("--photos and --labels go together", file=sys.stderr)
        return 2
    if args.basis is None:
        args.basis = "labels" if args.photos is not None else "strongest"
    return asyncio.run(run_eval(settings, args))


EVAL = (
    "replay the evaluation set under candidate CASCADE orders/thresholds and recommend the cheapest",
    _eval_arguments,
    _eval,
)
