"""Migrations build the cmms tables and take them away again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect

from bot.db import downgrade, upgrade


def _tables(path: Path) -> set[str]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_downgrade_0001_and_back(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    assert {"cmms_outbox", "cmms_work_orders"} <= _tables(path)
    downgrade(url, "0001")
    tables = _tables(path)
    assert not {"cmms_outbox", "cmms_work_orders"} & tables and "users" in tables
    upgrade(url)
    assert {"cmms_outbox", "cmms_work_orders"} <= _tables(path)
