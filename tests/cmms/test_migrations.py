"""Migrations build the cmms tables and take them away again, on both backends."""

from __future__ import annotations

from bot.runtime.db import downgrade, upgrade
from tests.bot.test_migrations import _tables


def test_upgrade_head_downgrade_0001_and_back(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    assert {"cmms_outbox", "cmms_work_orders"} <= _tables(empty_db_url)
    downgrade(empty_db_url, "0001")
    tables = _tables(empty_db_url)
    assert not {"cmms_outbox", "cmms_work_orders"} & tables and "users" in tables
    upgrade(empty_db_url)
    assert {"cmms_outbox", "cmms_work_orders"} <= _tables(empty_db_url)
