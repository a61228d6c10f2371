"""cards.follow_ups: the questions asked by replying to a card and their answers, for its work order

Revision ID: card_follow_ups
Revises: card_language
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "card_follow_ups"
down_revision: str | None = "card_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_ups", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_column("follow_ups")
