"""PostgreSQL for the test suite: a uniquely named database per test session, migrated once, emptied per test.

Other sessions (other developers' runs, CI) share the server, so nothing here touches a database it did not
create: each session creates ``plc_test_<pid>_<random>``, and every database it made is dropped when it ends.
Emptying the tables (DELETE in foreign-key order, sequences restarted) costs ~15 ms where a fresh database
cloned from a template costs ~120 ms to create and ~500 ms to drop.

The server is ``PLC_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``; its database is
only used to connect). Where none answers, the PostgreSQL half of the suite skips with the reason, unless
``PLC_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from bot.runtime.db import upgrade
from migrations.metadata import combined_metadata

SERVER_ENV = "PLC_TEST_POSTGRES_URL"
REQUIRE_ENV = "PLC_REQUIRE_POSTGRES"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get(SERVER_ENV, DEFAULT_SERVER)


def unavailable(reason: str) -> None:
    """Skip (a developer's machine without PostgreSQL) or fail (CI, where the server must be there)."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1 requires it)", pytrace=False)
    pytest.skip(f"{reason}; start PostgreSQL 15 there or set {SERVER_ENV} to run the PostgreSQL half")


class PgServer:
    """Creates and drops this session's databases on one server."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._prefix = f"plc_test_{os.getpid()}_{secrets.token_hex(3)}"
        self._made: list[str] = []

    @classmethod
    def connect(cls, url: str) -> PgServer:
        try:
            with psycopg.connect(url, connect_timeout=3):
                pass
        except psycopg.Error as exc:
            unavailable(f"PostgreSQL is not reachable at {make_url(url).render_as_string()}: {exc}".strip())
        return cls(url)

    @contextmanager
    def admin(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self._url, autocommit=True) as connection:
            yield connection

    def url_of(self, name: str) -> str:
        """The SQLAlchemy URL of one of this session's databases (the async psycopg 3 driver)."""
        url = make_url(self._url).set(drivername="postgresql+psycopg", database=name)
        return url.render_as_string(hide_password=False)

    def create(self, label: str) -> str:
        name = f"{self._prefix}_{label}_{len(self._made)}"
        with self.admin() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._made.append(name)
        return name

    def drop(self, name: str) -> None:
        with self.admin() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self._made.remove(name)

    def drop_all(self) -> None:
        for name in list(self._made):
            self.drop(name)


class MigratedDatabase:
    """One database migrated to head once; ``fresh()`` empties it for the next test."""

    def __init__(self, server: PgServer) -> None:
        self.name = server.create("main")
        self.url = server.url_of(self.name)
        upgrade(self.url)
        self._conninfo = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._reset = self._reset_script()

    def _reset_script(self) -> str:
        with psycopg.connect(self._conninfo) as connection:
            tables = {
                row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            }
            sequences = [row[0] for row in connection.execute("SELECT sequencename FROM pg_sequences")]
        ordered = [t.name for t in reversed(combined_metadata().sorted_tables) if t.name in tables]
        others = sorted(tables - set(ordered) - {"alembic_version"})  # not ours (a queue's tables): no FKs to ours
        statements = ["SET lock_timeout = '10s'"]  # a leaked connection holding locks fails the test, not hangs
        statements += [f'DELETE FROM "{name}"' for name in [*others, *ordered]]
        statements += [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
        return ";\n".join(statements)

    def fresh(self) -> str:
        with psycopg.connect(self._conninfo, autocommit=False) as connection:
            connection.execute(self._reset.encode())
        return self.url
