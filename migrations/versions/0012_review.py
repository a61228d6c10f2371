"""work_order_reviews: work orders held for an admin's approval (human review of critical equipment)

Revision ID: review
Revises: feedback
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "review"
down_revision: str | None = "feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_order_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("card_message_id", sa.Integer(), nullable=False),
        sa.Column("status_message_id", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.BigInteger(), nullable=False),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column("analysis", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("photo_file_id", sa.String(length=256), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("corrections", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_reviews")),
        sa.UniqueConstraint("chat_id", "card_message_id", name="uq_work_order_reviews_card"),
    )
    with op.batch_alter_table("work_order_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_reviews_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_order_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_reviews_state"))
    op.drop_table("work_order_reviews")
