"""cmms_outbox.asset: the equipment register's unit a work order is for (a known unit's card lists them)

Revision ID: outbox_asset
Revises: review
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outbox_asset"
down_revision: str | None = "review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cmms_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asset", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_cmms_outbox_asset", ["asset"])


def downgrade() -> None:
    with op.batch_alter_table("cmms_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_cmms_outbox_asset")
        batch_op.drop_column("asset")
