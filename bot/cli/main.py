"""``plc-copilot``: run | migrate | web | worker | set-webhook | analyze PHOTO... | read PHOTO... | doctor | cost |
workorders export."""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from bot.cli.read import add_read_arguments, read_command
from bot.quality import cli as quality_cli
from bot.runtime.settings import AppSettings, load_settings

log = logging.getLogger("plc_copilot")


# One entry per subcommand: (help, add its arguments, run it). To add a command, write its two functions and
# one line here; ``main`` needs no change.
AddArguments = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[AppSettings, argparse.Namespace], int]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


def _analyze_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--caption", default=None)
    parser.add_argument("--fresh", action="store_true", help="skip the cache")


def _cost_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("period", nargs="?", default="7d", choices=["today", "7d", "30d", "all"])
    parser.add_argument("--chart", type=Path, default=None, help="also write the daily-spend chart to this PNG")


def _workorders_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="workorders_command", required=True)
    export = commands.add_parser("export", help="write every work order and its delivery state as CSV")
    export.add_argument("path", help="CSV file to write, or - for standard output")


def _web_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="default WEB_HOST")
    parser.add_argument("--port", type=int, default=None, help="default WEB_PORT")


def _worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default=None, help="shown in the logs (default: the host and process id)")


def _fleet(settings: AppSettings, args: argparse.Namespace) -> int:
    from bot.fleet import commands

    if args.command == "web":
        return commands.web(settings, args.host, args.port)
    if args.command == "worker":
        return commands.worker(settings, args.name)
    return asyncio.run(commands.set_webhook(settings))


def _analyze(settings: AppSettings, args: argparse.Namespace) -> int:
    from bot.cli.analyze import analyze_photos

    return asyncio.run(analyze_photos(settings, args.photos, caption=args.caption, fresh=args.fresh))


def _doctor(settings: AppSettings, args: argparse.Namespace) -> int:
    from bot.cli.doctor import doctor

    return asyncio.run(doctor(settings))


COMMANDS: dict[str, tuple[str, AddArguments, Handler]] = {
    "run": ("migrate the database and run the bot (polling)", _no_arguments, lambda s, a: run(s)),
    "migrate": ("apply database migrations (the deploy step of a fleet)", _no_arguments, lambda s, a: migrate(s)),
    "web": ("fleet: the webhook ingress (PostgreSQL)", _web_arguments, _fleet),
    "worker": ("fleet: a worker running updates and periodic tasks (PostgreSQL)", _worker_arguments, _fleet),
    "set-webhook": ("fleet: register WEBHOOK_URL and WEBHOOK_SECRET with Telegram", _no_arguments, _fleet),
    "analyze": ("analyse photos without Telegram; prints the card and a receipt", _analyze_arguments, _analyze),
    "read": ("what the nameplate reader finds on photos (no model, no database)", add_read_arguments, read_command),
    "doctor": ("check the token, the database, every configured tier, its model and price", _no_arguments, _doctor),
    "cost": (
        "the admins' /cost report in the terminal, optionally with the chart",
        _cost_arguments,
        lambda s, a: asyncio.run(cost_report(s, a.period, a.chart)),
    ),
    "quality": quality_cli.QUALITY,
    "eval": quality_cli.EVAL,
    "workorders": (
        "work orders kept by the outbox",
        _workorders_arguments,
        lambda s, a: asyncio.run(export_work_orders(s, a.path)),
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plc-copilot", description="PLC Copilot Telegram bot")
    parser.add_argument(
        "--env-file", default=None, help="settings file (default: .env in the working directory, if there is one)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _handler) in COMMANDS.items():
        add_arguments(commands.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    # Durations from python-telegram-bot as timedelta (PTB 23's behaviour) instead of deprecated numbers.
    os.environ.setdefault("PTB_TIMEDELTA", "1")

    # An --env-file that is not there is a typo, not a wish for the defaults; a missing .env is fine.
    if args.env_file is not None and not Path(args.env_file).exists():
        print(f"Settings file {args.env_file} not found (--env-file).", file=sys.stderr)
        return 2
    env_file = args.env_file or ".env"
    try:
        settings = load_settings(env_file if Path(env_file).exists() else None)
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        print(f"Configuration error:\n{exc}", file=sys.stderr)
        return 2
    from bot.runtime.db import DatabaseFolderError
    from bot.runtime.logs import setup_logging

    setup_logging(settings.bot.log_level, _secrets(settings))
    # Alembic's INFO lines belong to `migrate` (and the start of `run`); before an admin command's output they
    # are noise. Its plugin set-up lines are noise everywhere.
    logging.getLogger("alembic").setLevel(logging.INFO if args.command in {"run", "migrate"} else logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        return COMMANDS[args.command][2](settings, args)
    except DatabaseFolderError as exc:
        print(exc, file=sys.stderr)
        return 2


def run(settings: AppSettings) -> int:
    from bot.chat.telegram_check import check_token

    # Ask Telegram before anything else: a rejected token is one sentence here, not PTB's tracebacks later.
    checked = asyncio.run(check_token(settings.bot))
    if checked.problem is not None:
        print(checked.problem, file=sys.stderr)
        return 2 if checked.rejected else 1
    from telegram import Update

    from bot.runtime.app import build_application

    migrate(settings)
    application = build_application(settings)
    log.info("starting PLC Copilot as @%s (polling %s)", checked.username, settings.bot.telegram_api_url)
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def migrate(settings: AppSettings) -> int:
    from bot.runtime.db import upgrade

    upgrade(settings.bot.database_url)
    log.info("database is at the latest migration")
    return 0


async def cost_report(settings: AppSettings, period: str, chart: Path | None) -> int:
    from datetime import UTC, datetime

    from bot.accounts import reports
    from bot.chat import costchart
    from bot.runtime.db import make_engine, make_sessionmaker, upgrade_async
    from pipeline import PriceTable

    await upgrade_async(settings.bot.database_url)
    engine = make_engine(settings.bot.database_url)
    now = datetime.now(UTC)
    model = settings.bot.cost_baseline_model
    price = PriceTable.load(settings.pipeline.prices_path).lookup(model, now.date())
    try:
        async with make_sessionmaker(engine)() as session:
            report = await reports.build_report(
                session, reports.PERIODS[period], now, baseline_model=model, baseline=price
            )
            data = await costchart.load(session, period, now) if chart is not None else None
    finally:
        await engine.dispose()
    print(plain(reports.report_text(report)))
    if chart is not None and data is not None:
        png = await asyncio.to_thread(costchart.render, data)
        try:
            await asyncio.to_thread(chart.write_bytes, png)
        except OSError as exc:
            print(f"Could not write the chart to {chart}: {exc.strerror}.", file=sys.stderr)
            return 1
        print(f"chart written to {chart}", file=sys.stderr)
    return 0


async def export_work_orders(settings: AppSettings, path: str) -> int:
    from bot.runtime.db import make_engine, make_sessionmaker, upgrade_async
    from cmmsconnect import Outbox, build_connector

    try:  # opened first: an unwritable path is one sentence, before any database work
        target = sys.stdout if path == "-" else await asyncio.to_thread(_open_for_writing, Path(path))
    except OSError as exc:
        print(f"Could not write the work orders to {path}: {exc.strerror}.", file=sys.stderr)
        return 1
    await upgrade_async(settings.bot.database_url)
    engine = make_engine(settings.bot.database_url)
    sessions = make_sessionmaker(engine)
    outbox = Outbox(sessions, build_connector(settings.cmms, sessions), settings.cmms)
    try:
        count = await outbox.export_csv(target)
    finally:
        if target is not sys.stdout:
            target.close()
        await outbox.aclose()
        await engine.dispose()
    print(f"{count} work orders written to {'standard output' if path == '-' else path}", file=sys.stderr)
    return 0


def _open_for_writing(path: Path) -> TextIO:
    return path.open("w", newline="", encoding="utf-8")


def _secrets(settings: AppSettings) -> list[str]:
    values = []
    for group in (settings.bot, settings.pipeline, settings.cmms):
        for name in type(group).model_fields:
            value = getattr(group, name)
            if hasattr(value, "get_secret_value"):
                values.append(value.get_secret_value())
    return values


def plain(text: str) -> str:
    """Telegram HTML → terminal text."""
    return html.unescape(re.sub(r"</?[a-z][^>]*>", "", text))


if __name__ == "__main__":
    raise SystemExit(main())
