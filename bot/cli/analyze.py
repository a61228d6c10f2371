"""``plc-copilot analyze``: the pipeline without Telegram, printing the same card the bot sends."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from bot.accounts.budget import DbSpendingGuard
from bot.chat import render
from bot.runtime.db import make_engine, make_sessionmaker, upgrade_async
from bot.runtime.settings import AppSettings
from pipeline import (
    AnalysisFailed,
    IntakeError,
    NoTierAvailable,
    Pipeline,
    PriceTable,
    Progress,
    build_tiers,
    format_usd,
    parse_cascade_names,
)


async def analyze_photos(settings: AppSettings, paths: Sequence[Path], *, caption: str | None, fresh: bool) -> int:
    from bot.cli.main import plain

    await upgrade_async(settings.bot.database_url)
    engine = make_engine(settings.bot.database_url)
    tiers = build_tiers(settings.pipeline, parse_cascade_names(settings.pipeline.cascade))
    if not tiers:
        print(
            "No analysis tier is configured. Set OLLAMA_HOST (local model) or a cloud key such as GEMINI_API_KEY "
            "in .env (see .env.example).",
            file=sys.stderr,
        )
        await engine.dispose()
        return 3
    sessions = make_sessionmaker(engine)
    pipeline = Pipeline(settings.pipeline, sessions, tiers, PriceTable.load(settings.pipeline.prices_path))
    # The same daily caps as the bot: spend from the command line counts against today's budget.
    ttl = timedelta(seconds=settings.pipeline.request_timeout_s + 60)
    guard = DbSpendingGuard(sessions, settings.bot, ttl=ttl)
    exit_code = 0
    try:
        await pipeline.start()
        for path in paths:
            print(f"== {path}")
            try:
                data = path.read_bytes()
            except OSError as exc:
                print(f"cannot read {path}: {exc.strerror}", file=sys.stderr)
                exit_code = 1
                continue

            async def progress(event: Progress) -> None:
                print(f"   … {plain(render.status_text(event))}", file=sys.stderr)

            try:
                result = await pipeline.analyze([data], caption=caption, guard=guard, progress=progress, fresh=fresh)
            except IntakeError as exc:
                print(exc.user_message, file=sys.stderr)
                exit_code = 1
                continue
            except (NoTierAvailable, AnalysisFailed) as exc:
                if isinstance(exc, NoTierAvailable) and exc.budget_refused:
                    print(f"Not analysed: {path.name}: today's cloud budget is used up (see /budget)", file=sys.stderr)
                else:
                    print(f"No tier could analyse {path.name}: {exc}", file=sys.stderr)
                for attempt in getattr(exc, "attempts", []):
                    print(f"   {attempt.tier:8} {attempt.outcome:18} {attempt.error or ''}", file=sys.stderr)
                exit_code = 4
                continue
            print(plain(render.card(result.analysis, result.receipt, admin=True)))
            print("\nReceipt:")
            for attempt in result.receipt.attempts:
                usage = f"{attempt.usage.input_tokens}+{attempt.usage.output_tokens} tok"
                print(
                    f"   {attempt.tier:8} {attempt.outcome:18} {attempt.latency_ms:6d} ms  {usage:>14}  "
                    f"{format_usd(attempt.cost_micro_usd)}  {attempt.error or ''}".rstrip()
                )
            print(f"   total {format_usd(result.receipt.cost_micro_usd)} in {result.receipt.duration_ms} ms")
    finally:
        await pipeline.aclose()
        await engine.dispose()
    return exit_code
