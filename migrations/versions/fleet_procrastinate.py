"""Procrastinate's job queue (the fleet's update jobs and periodic tasks), on PostgreSQL only

The embedded bot on SQLite has no job queue: its updates run in-process (bot/updates/). On PostgreSQL this
revision applies the schema that ships with the pinned Procrastinate (``procrastinate.schema``), so
``plc-copilot migrate`` is the one deploy step for our tables and the queue's. Upgrading Procrastinate later
means a new revision that applies its ``sql/migrations`` deltas between the two versions.

Revision ID: fleet_procrastinate
Revises: 0009_card_owner
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "fleet_procrastinate"
down_revision: str | None = "0009_card_owner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    # the raw cursor without parameters: the schema is many statements, and has '%' and ':' SQLAlchemy would parse
    cursor = bind.connection.cursor()
    try:
        cursor.execute(SchemaManager.get_schema())
    finally:
        cursor.close()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # every object the schema made is named procrastinate_*: tables (their triggers and indexes go with them),
    # then functions, then types
    cursor = bind.connection.cursor()
    try:
        cursor.execute(
            """
        DO $$
        DECLARE name text;
        BEGIN
            FOR name IN SELECT tablename FROM pg_tables
                        WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', name);
            END LOOP;
            FOR name IN SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || name || ' CASCADE';
            END LOOP;
            FOR name IN SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                        WHERE n.nspname = current_schema() AND typname LIKE 'procrastinate\\_%'
                        AND t.typtype IN ('e', 'c') LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', name);
            END LOOP;
        END $$;
        """
        )
    finally:
        cursor.close()
