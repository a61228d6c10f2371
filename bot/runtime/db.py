"""Engine construction and migrations, for SQLite (the embedded default) and PostgreSQL (psycopg 3, the fleet).

SQLite runs in WAL mode with a busy timeout so the bot, the job queue and the CLI (separate processes) can share
one file; every connection gets the same pragmas. Within one process SQLite gets **one** pooled connection: SQLite
writes one transaction at a time anyway, and several connections of one process wait for each other in SQLite's
busy handler, which polls with growing sleeps (up to 100 ms) instead of queueing — with 60 photos at once an inbox
write waited 1.3 s (p99) on 15 connections and 0.09 s on one (``bench crowd``, BENCHMARKS §5). On one connection
the process's statements queue in order on aiosqlite's thread. The rule that follows: never hold a session across
a Telegram, model or CMMS call, nor open a second session while holding one.

A PostgreSQL URL may be written the way libpq and most hosts print it (``postgresql://`` or ``postgres://``); it
is pointed at the async psycopg 3 driver here, the one Procrastinate also uses, so one URL serves the bot, the CLI
and Alembic.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

import migrations

SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_DRIVER = "postgresql+psycopg"


def database_url(url: str) -> URL:
    """The URL with its async driver: ``postgresql://`` / ``postgres://`` → psycopg 3; others unchanged."""
    parsed = make_url("postgresql" + url.removeprefix("postgres") if url.startswith("postgres://") else url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed


def is_postgres(url: str) -> bool:
    return database_url(url).get_backend_name() == "postgresql"


class DatabaseFolderError(Exception):
    """The SQLite file's folder cannot be created; the message says which folder and what to do."""


def ensure_database_folder(url: str) -> None:
    """Create the folder of a SQLite ``DATABASE_URL`` (SQLite creates the file but never its folder).

    Every entry point goes through here — the engine *and* Alembic's own engine — so ``run``, ``migrate``,
    ``analyze``, ``cost`` and ``workorders export`` work in a fresh clone whatever path ``DATABASE_URL`` names.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    if parsed.database.startswith("file:"):  # URI filenames (?uri=true) are the admin's business
        return
    folder = Path(parsed.database).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseFolderError(
            f"Cannot create the folder {folder} for the database in DATABASE_URL ({exc.strerror or exc}). "
            "Create it yourself or point DATABASE_URL at a writable place."
        ) from exc


def make_engine(url: str) -> AsyncEngine:
    """Create the async engine; for SQLite also create the parent folder and set WAL + busy timeout."""
    parsed = database_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if is_sqlite:
        connect_args["timeout"] = SQLITE_BUSY_TIMEOUT_MS / 1000
        ensure_database_folder(url)
        if parsed.database not in (None, "", ":memory:"):  # an in-memory database has its own one-connection pool
            options.update(pool_size=1, max_overflow=0)
    else:
        # a server restart or an idle-timeout in a proxy (PgBouncer) closes pooled connections under us
        options["pool_pre_ping"] = True
        # no server-side prepared statements: a transaction-mode PgBouncer hands each transaction to any server
        # connection, where a statement prepared on another does not exist (README, deployment guide)
        connect_args["prepare_threshold"] = None
    engine = create_async_engine(parsed, connect_args=connect_args, **options)
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    rendered = database_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations (blocking; run from a thread when inside an event loop).

    Safe to run from several processes at once: ``migrations/env.py`` holds a lock (advisory on PostgreSQL) for
    the whole upgrade, so the second process waits and then finds the database at head.
    """
    ensure_database_folder(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
