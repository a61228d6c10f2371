"""The fleet's command-line entry points: ``web``, ``worker`` and ``set-webhook`` (wired in ``bot/cli/main.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from bot.runtime.settings import AppSettings

log = logging.getLogger(__name__)


def fleet_problem(settings: AppSettings, *, needs_secret: bool) -> str | None:
    """Why this fleet process cannot start, or None."""
    from bot.runtime.db import is_postgres

    if not is_postgres(settings.bot.database_url):
        return (
            "The fleet (web, worker) runs on PostgreSQL: set DATABASE_URL=postgresql://user@host/db. "
            "One process on SQLite is `plc-copilot run`."
        )
    if needs_secret and settings.bot.webhook_secret is None:
        return "WEBHOOK_SECRET is not set (1-256 characters of A-Z a-z 0-9 _ -); Telegram sends it with every update."
    return None


def not_at_head(url: str) -> str | None:
    """None when the database is migrated to the latest revision; else what to do."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from bot.runtime.db import alembic_config, database_url

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(database_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    if current == head:
        return None
    return (
        f"The database is at {current or 'no revision'}, not {head}: run `plc-copilot migrate` first (once per deploy)."
    )


def _check(settings: AppSettings, *, needs_secret: bool) -> int | None:
    problem = fleet_problem(settings, needs_secret=needs_secret) or not_at_head(settings.bot.database_url)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    return None


def web(settings: AppSettings, host: str | None, port: int | None) -> int:
    import uvicorn

    from bot.fleet import queue as jobs
    from bot.fleet.ingress import build_ingress
    from bot.runtime.db import make_engine, make_sessionmaker

    if (refused := _check(settings, needs_secret=True)) is not None:
        return refused
    assert settings.bot.webhook_secret is not None
    engine = make_engine(settings.bot.database_url)
    app = build_ingress(
        make_sessionmaker(engine),
        jobs.make_queue(settings.bot.database_url, pool_size=1),
        secret=settings.bot.webhook_secret.get_secret_value(),
        album_wait_s=settings.bot.album_wait_s,
        on_shutdown=engine.dispose,
    )
    config = uvicorn.Config(
        app,
        host=host or settings.bot.web_host,
        port=port if port is not None else settings.bot.web_port,
        access_log=False,  # one line per update is the worker's job; the token is never in these URLs anyway
        log_config=None,  # ours (bot/runtime/logs.py)
        lifespan="on",
    )
    log.info("webhook ingress on %s:%s", config.host, config.port)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shuts down gracefully, then re-raises the SIGINT
        uvicorn.Server(config).run()
    return 0


def worker(settings: AppSettings, name: str | None) -> int:
    from bot.fleet.worker import run_worker

    if (refused := _check(settings, needs_secret=False)) is not None:
        return refused
    import os
    import socket

    return asyncio.run(run_worker(settings, name=name or f"{socket.gethostname()}-{os.getpid()}"))


async def set_webhook(settings: AppSettings) -> int:
    """Tell Telegram where to send updates (once per deploy). Pending updates are kept, never dropped."""
    from telegram import Bot, Update

    if settings.bot.webhook_url is None or settings.bot.webhook_secret is None:
        print("Set WEBHOOK_URL (the public https://…/telegram address) and WEBHOOK_SECRET first.", file=sys.stderr)
        return 2
    token = settings.bot.telegram_bot_token
    if token is None:
        print(settings.bot.token_problem(), file=sys.stderr)
        return 2
    api = settings.bot.telegram_api_url
    bot = Bot(token.get_secret_value().strip(), base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")
    async with bot:
        await bot.set_webhook(
            url=settings.bot.webhook_url,
            secret_token=settings.bot.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
            max_connections=settings.bot.webhook_max_connections,
        )
        info = await bot.get_webhook_info()
    print(f"webhook set: {info.url} ({info.pending_update_count} updates waiting)")
    return 0
