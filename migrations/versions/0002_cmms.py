"""cmms: outbox of work orders to deliver, and the local backend's work orders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cmms_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("work_order", sa.JSON(), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("reporter_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("remote_id", sa.String(length=64), nullable=True),
        sa.Column("remote_url", sa.String(length=500), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cmms_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_cmms_outbox_key")),
    )
    with op.batch_alter_table("cmms_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cmms_outbox_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_cmms_outbox_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cmms_outbox_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cmms_outbox_created_at"), ["created_at"], unique=False)

    op.create_table(
        "cmms_work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("equipment_type", sa.String(length=64), nullable=True),
        sa.Column("manufacturer", sa.String(length=120), nullable=True),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("serial_number", sa.String(length=120), nullable=True),
        sa.Column("reporter_id", sa.BigInteger(), nullable=False),
        sa.Column("reporter_name", sa.String(length=128), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cmms_work_orders")),
        sa.UniqueConstraint("ref", name=op.f("uq_cmms_work_orders_ref")),
    )
    with op.batch_alter_table("cmms_work_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cmms_work_orders_serial_number"), ["serial_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_cmms_work_orders_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cmms_work_orders_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cmms_work_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cmms_work_orders_created_at"))
        batch_op.drop_index(batch_op.f("ix_cmms_work_orders_reporter_id"))
        batch_op.drop_index(batch_op.f("ix_cmms_work_orders_serial_number"))
    op.drop_table("cmms_work_orders")

    with op.batch_alter_table("cmms_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cmms_outbox_created_at"))
        batch_op.drop_index(batch_op.f("ix_cmms_outbox_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_cmms_outbox_reporter_id"))
        batch_op.drop_index(batch_op.f("ix_cmms_outbox_status"))
    op.drop_table("cmms_outbox")
