"""Dialect-aware SQL helpers shared by the outbox and the local backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignoring_duplicates(session: AsyncSession, model: Any, values: dict[str, Any], *, unique: str) -> bool:
    """INSERT … ON CONFLICT (unique) DO NOTHING; True when a row was inserted.

    The database's unique constraint decides, not a check-then-insert: two concurrent submits of the same key
    cannot both insert. SQLite and PostgreSQL share this syntax. Whether a row was inserted is read from
    ``RETURNING``, not ``rowcount``: psycopg 3 reports −1 for this statement (SQLAlchemy issue 10696).
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if dialect not in {"postgresql", "sqlite"}:
        raise NotImplementedError(f"no upsert for dialect {dialect}")
    key = inspect(model).primary_key[0]
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=[unique]).returning(key)
    result = await session.execute(statement)
    return result.first() is not None
