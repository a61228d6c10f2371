"""Fixtures shared by every test package: a migrated database on each backend, and synthetic photos.

Every test that asks for ``db_url`` (or ``sessions``, or a fixture built on them) runs twice: on SQLite, the
embedded default, and on a real PostgreSQL (see ``tests/pg.py``; skipped with a reason where none is reachable,
a failure under ``PLC_REQUIRE_POSTGRES=1``). Tests that touch no database run once.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.db import make_engine, make_sessionmaker, upgrade
from tests.pg import MigratedDatabase, PgServer, server_url
from tests.plate import MemoReader

# python-telegram-bot 22 warns (an error under our pytest config) when a duration such as RetryAfter.retry_after
# is read as a number; this opts in to the timedelta behaviour that PTB 23 makes the default. main() sets it too.
os.environ.setdefault("PTB_TIMEDELTA", "1")
# The plate reader (~1 s of OCR per photo) is off unless a test turns it on with the session's shared reader
# (tests/plate.py): the rest of the suite uses synthetic photos that have no plate to read.
os.environ.setdefault("PLATE_READER", "false")


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer.connect(server_url())  # skips (or fails under PLC_REQUIRE_POSTGRES=1) when unreachable
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def pg_database(pg_server: PgServer) -> MigratedDatabase:
    return MigratedDatabase(pg_server)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per session; each test gets a copy (migrating every test's file cost ~0.2 s each)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database built by migrating, never by create_all: a SQLite file, or the session's PostgreSQL database
    emptied for this test."""
    if backend == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    database: MigratedDatabase = request.getfixturevalue("pg_database")
    return database.fresh()


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database that exists but was never migrated (a new SQLite path, or a new PostgreSQL database)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.create("empty")
    yield server.url_of(name)
    server.drop(name)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def make_photo(seed: int, size: tuple[int, int] = (640, 480), quality: int = 90) -> bytes:
    """A JPEG with a distinct random structure per seed (different seeds hash far apart)."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = x0 + rng.randrange(40, 300), y0 + rng.randrange(40, 300)
        draw.rectangle((x0, y0, x1, y1), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def reencode(data: bytes, quality: int = 60, scale: float = 0.8) -> bytes:
    """What a re-sent photo looks like: decoded, resized and compressed again."""
    image = Image.open(io.BytesIO(data))
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def plate_reader() -> Iterator[MemoReader]:
    """One real OCR engine for the whole session (~2 s to load, ~0.4 GB). Its models load with every outgoing
    connection refused, which checks that the reader fetches nothing from the network."""
    reader = MemoReader()
    real_connect = socket.socket.connect

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"the plate reader tried to connect to {address!r} while loading its models")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    try:
        reader.warm_up()
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
    yield reader
