"""questions: the free-question allowance, which messages belong to a card, the language of a cached analysis

Revision ID: questions
Revises: outbox_asset
Create Date: 2026-12-01

* users.questions_day / questions_used: text answers on the free plan per UTC day (bot/accounts/questions.py)
* card_messages: (chat, message) → card token and kind ("card" or "answer"), so a reply to a card or to an answer
  about it finds the card
* analyses.language: the cache answers only in the language it was written in (NULL: English, as before)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "questions"
down_revision: str | None = "outbox_asset"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("questions_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("questions_used", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "card_messages",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False, server_default="card"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_card_messages")),
    )
    op.create_index(op.f("ix_card_messages_created_at"), "card_messages", ["created_at"], unique=False)
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_column("language")
    op.drop_index(op.f("ix_card_messages_created_at"), table_name="card_messages")
    op.drop_table("card_messages")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("questions_used")
        batch_op.drop_column("questions_day")
