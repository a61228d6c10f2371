"""The one Alembic history builds, takes down and rebuilds the schema on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from bot.runtime.db import downgrade, upgrade


def sync_engine(url: str) -> sa.Engine:
    """A blocking engine on the same database (psycopg 3 is sync and async under one driver name)."""
    return sa.create_engine(url.replace("sqlite+aiosqlite:", "sqlite:"))


def _tables(url: str) -> set[str]:
    engine = sync_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_then_downgrade_to_base_and_back(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    assert {"users", "photos", "analyses", "model_calls"} <= _tables(empty_db_url)
    downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) == {"alembic_version"}
    upgrade(empty_db_url)
    assert {"users", "photos", "analyses", "model_calls"} <= _tables(empty_db_url)


def test_models_and_migrations_agree(db_url: str) -> None:
    """Autogenerate against the migrated database finds nothing: no model change is missing a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from migrations.metadata import combined_metadata, include_name

    engine = sync_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_name": include_name})
            diff = compare_metadata(context, combined_metadata())
    finally:
        engine.dispose()
    assert diff == []


def test_processes_starting_together_do_not_race_the_migration(empty_db_url: str) -> None:
    """Two processes upgrade one empty database at once: both succeed (they queue on a lock, see
    migrations/env.py; without it they raced to create the same tables and one failed)."""
    code = "import sys; from bot.runtime.db import upgrade; upgrade(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, empty_db_url], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], errors
    assert {"users", "cmms_outbox", "spend_counters"} <= _tables(empty_db_url)
