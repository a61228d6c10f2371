"""The fleet runs on PostgreSQL only: its tests take the session's PostgreSQL database, emptied per test (skipped
with a reason where no server answers; a failure under PLC_REQUIRE_POSTGRES=1, as in CI)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.db import make_engine, make_sessionmaker
from tests.pg import MigratedDatabase


@pytest.fixture
def pg_url(pg_database: MigratedDatabase) -> str:
    return pg_database.fresh()


@pytest.fixture
async def pg_sessions(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(pg_url)
    yield make_sessionmaker(engine)
    await engine.dispose()
