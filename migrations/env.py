"""Async Alembic environment. Batch mode so ALTERs work on SQLite; compare_type for autogenerate.

Several processes may start at once and each migrate (a fleet's workers, a deploy's ``plc-copilot migrate`` next
to a running bot, the embedded bot and its CLI). Each upgrade therefore runs as one transaction that first takes
a lock the others wait for, and reads the version table only after it holds it, so the later ones find the
database at head and do nothing:

* PostgreSQL: a transaction-scoped advisory lock (DDL is transactional there anyway);
* SQLite: ``BEGIN IMMEDIATE``, i.e. the database's write lock, with DDL made transactional. The sqlite3 driver
  would otherwise run each CREATE TABLE outside any transaction, and two processes raced to create the same
  tables.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from migrations.metadata import combined_metadata, include_name

# an arbitrary constant shared by every PLC Copilot process: "PLCmigr" in ASCII
MIGRATION_LOCK = 0x504C436D696772
SQLITE_LOCK_WAIT_S = 120  # how long a second process waits for the first one's migration
target_metadata = combined_metadata()
config = context.config


def _configure(connection: Connection | None = None, **kwargs: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    _configure(connection, transactional_ddl=True) if is_sqlite else _configure(connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


def _driver_without_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we say BEGIN ourselves (below), and DDL stays inside it


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


async def run_migrations_online() -> None:
    section = config.get_section(config.config_ini_section, {})
    is_sqlite = section.get("sqlalchemy.url", "").startswith("sqlite")
    engine = async_engine_from_config(
        section,
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
        connect_args={"timeout": SQLITE_LOCK_WAIT_S} if is_sqlite else {},
    )
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _driver_without_implicit_begin)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
