from pathlib import Path

import sqlalchemy as sa

from bot.db import downgrade, upgrade


def _tables(path: Path) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_then_downgrade_to_base_and_back(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    assert {"users", "photos", "analyses", "model_calls"} <= _tables(path)
    downgrade(url, "base")
    assert _tables(path) == {"alembic_version"}
    upgrade(url)
    assert {"users", "photos", "analyses", "model_calls"} <= _tables(path)


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    """Autogenerate against the migrated database finds nothing: no model change is missing a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from migrations.metadata import combined_metadata

    path = tmp_path / "m.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), combined_metadata())
    finally:
        engine.dispose()
    assert diff == []
