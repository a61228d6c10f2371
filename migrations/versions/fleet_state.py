"""The fleet's shared state on PostgreSQL: tier breakers, per-tier call slots, token buckets, and a
notification when an analysis is stored (bot/fleet/shared.py, bot/fleet/nearsync.py)

SQLite (one process) needs none of it and gets nothing. The tables are written by plain SQL from bot/fleet/
only, so they have no models; autogenerate leaves ``fleet_*`` tables alone (migrations.metadata.include_name).

Revision ID: fleet_state
Revises: fleet_procrastinate
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "fleet_state"
down_revision: str | None = "fleet_procrastinate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE fleet_breakers ("
        " tier varchar(32) PRIMARY KEY, open_until timestamptz NOT NULL, problem varchar(32))"
    )
    op.execute(
        "CREATE TABLE fleet_tier_slots ("
        " tier varchar(32) NOT NULL, slot integer NOT NULL, lease_until timestamptz, holder varchar(32),"
        " PRIMARY KEY (tier, slot))"
    )
    op.execute(
        "CREATE TABLE fleet_buckets ("
        " name varchar(32) PRIMARY KEY, tokens double precision NOT NULL, updated_at timestamptz NOT NULL)"
    )
    op.execute(
        "CREATE FUNCTION fleet_notify_analysis() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('plc_analysis', NEW.id::text); RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER fleet_notify_analysis AFTER INSERT ON analyses "
        "FOR EACH ROW EXECUTE FUNCTION fleet_notify_analysis()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS fleet_notify_analysis ON analyses")
    op.execute("DROP FUNCTION IF EXISTS fleet_notify_analysis()")
    op.execute("DROP TABLE IF EXISTS fleet_buckets")
    op.execute("DROP TABLE IF EXISTS fleet_tier_slots")
    op.execute("DROP TABLE IF EXISTS fleet_breakers")
