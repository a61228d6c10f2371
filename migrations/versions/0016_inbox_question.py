"""update_inbox.question_user_id/question_day: a free question an update holds, given back after a crash

Revision ID: inbox_question
Revises: card_follow_ups
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inbox_question"
down_revision: str | None = "card_follow_ups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("update_inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("question_user_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("question_day", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("update_inbox", schema=None) as batch_op:
        batch_op.drop_column("question_day")
        batch_op.drop_column("question_user_id")
