"""every tier's answer: parsed analysis, score, reasons, plate evidence, purpose and arm on model_calls

Revision ID: every_answer
Revises: fleet_state
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "every_answer"
down_revision: str | None = "fleet_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("score_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("analysis", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("purpose", sa.String(length=8), server_default="serve", nullable=False))
        batch_op.add_column(sa.Column("arm", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_calls", schema=None) as batch_op:
        batch_op.drop_column("arm")
        batch_op.drop_column("purpose")
        batch_op.drop_column("evidence")
        batch_op.drop_column("analysis")
        batch_op.drop_column("score_reasons")
        batch_op.drop_column("score")
