"""spend reservations: a partial index over the unsettled ones

The guard frees crashed requests' reservations before each reserve (``settled_at IS NULL AND expires_at < now``).
With only an index on ``expires_at`` that walked every reservation that ever expired — millions in a busy day.
The partial index holds just the reservations in flight, so the lookup stays tiny.

Revision ID: spend_open
Revises: 0006_language
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "spend_open"
down_revision: str | None = "0006_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSETTLED = sa.text("settled_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("spend_reservations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_spend_reservations_unsettled",
            ["expires_at"],
            unique=False,
            postgresql_where=UNSETTLED,
            sqlite_where=UNSETTLED,
        )


def downgrade() -> None:
    with op.batch_alter_table("spend_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_spend_reservations_unsettled")
