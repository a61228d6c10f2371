"""Dialect-aware SQL helpers shared by the outbox and the local backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignoring_duplicates(session: AsyncSession, model: Any, values: dict[str, Any], *, unique: str) -> bool:
    """INSERT … ON CONFLICT (unique) DO NOTHING; True when a row was inserted.

    The database's unique constraint decides, not a check-then-insert: two concurrent submits of the same key
    cannot both insert. SQLite and PostgreSQL share this syntax.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if dialect not in {"postgresql", "sqlite"}:
        raise NotImplementedError(f"no upsert for dialect {dialect}")
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=[unique])
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0) == 1)
