"""bot.runtime.db: how each database is connected."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from bot.runtime.db import make_engine


async def test_a_sqlite_file_gets_one_connection_per_process(tmp_path: Path) -> None:
    """SQLite writes one transaction at a time; a process's own connections would only wait for each other in
    SQLite's sleeping busy handler. On one connection, concurrent work queues in order and all of it lands."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        pool = engine.pool
        assert isinstance(pool, QueuePool) and pool.size() == 1 and pool._max_overflow == 0
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))

        async def write(n: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})

        await asyncio.gather(*(write(n) for n in range(100)))
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM t")) == 100
    finally:
        await engine.dispose()


async def test_an_in_memory_sqlite_database_still_works() -> None:
    engine = make_engine("sqlite+aiosqlite://")
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
